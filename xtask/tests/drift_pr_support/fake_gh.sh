#!/bin/sh
# A stand-in for GitHub's `gh`, put first on PATH by the drift-pr tests. It keeps the
# repository's labels, pull requests and issues as files under $FAKE_GH_STATE, appends every
# call to $FAKE_GH_STATE/calls.log (one line each), and answers the subcommands and flags that
# `cargo xtask drift-pr` uses the way the real one does, errors included: a missing label, a
# second pull request for a branch, a head branch that was never pushed.
set -eu
S="${FAKE_GH_STATE:?FAKE_GH_STATE is not set}"
mkdir -p "$S/labels" "$S/pulls" "$S/issues"
printf '%s\n' "$*" >> "$S/calls.log"
REPO=https://github.com/owner/repo

die() { printf '%s\n' "$*" >&2; exit 1; }

next_number() {
    n=$(cat "$S/next" 2>/dev/null || echo 0)
    n=$((n + 1))
    echo "$n" > "$S/next"
    echo "$n"
}

labels_json() {
    first=1
    printf '['
    if [ -f "$1/labels" ]; then
        while IFS= read -r l; do
            [ -n "$l" ] || continue
            [ "$first" = 1 ] || printf ','
            first=0
            printf '{"id":"LA_%s","name":"%s","description":"","color":"ededed"}' "$l" "$l"
        done < "$1/labels"
    fi
    printf ']'
}

need_label() { [ -f "$S/labels/$1" ] || die "could not add label: '$1' not found"; }

add_label() {
    touch "$1/labels"
    grep -qxF "$2" "$1/labels" || printf '%s\n' "$2" >> "$1/labels"
}

remove_label() {
    [ -f "$1/labels" ] || return 0
    grep -vxF "$2" "$1/labels" > "$1/labels.new" || true
    mv "$1/labels.new" "$1/labels"
}

# Lists the items of $1 (pulls or issues) whose files match the filters, as gh's JSON.
list() {
    kind=$1 head=$2 base=$3 state=$4 label=$5
    first=1
    printf '['
    for dir in $(ls "$S/$kind" | sort -n); do
        d="$S/$kind/$dir"
        [ -z "$head" ] || [ "$(cat "$d/head")" = "$head" ] || continue
        [ -z "$base" ] || [ "$(cat "$d/base")" = "$base" ] || continue
        case "$state" in
            all) ;;
            *) [ "$(cat "$d/state")" = "$(echo "$state" | tr a-z A-Z)" ] || continue ;;
        esac
        [ -z "$label" ] || grep -qxF "$label" "$d/labels" 2>/dev/null || continue
        [ "$first" = 1 ] || printf ','
        first=0
        printf '{"number":%s,"state":"%s","labels":' "$dir" "$(cat "$d/state")"
        labels_json "$d"
        printf '}'
    done
    printf ']\n'
}

# Reads the flags of create/edit/close/list into variables.
title='' body='' body_set='' head='' base='' state=open label='' comment='' number=''
adds='' removes='' force='' color='' description='' json=''
parse() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --title|-t) title=$2; shift 2 ;;
            --body|-b) body=$2; body_set=1; shift 2 ;;
            --body-file|-F) body=$(cat "$2"); body_set=1; shift 2 ;;
            --head|-H) head=$2; shift 2 ;;
            --base|-B) base=$2; shift 2 ;;
            --state|-s) state=$2; shift 2 ;;
            --label|-l) label=$2; adds="$adds
$2"; shift 2 ;;
            --add-label) adds="$adds
$2"; shift 2 ;;
            --remove-label) removes="$removes
$2"; shift 2 ;;
            --comment|-c) comment=$2; shift 2 ;;
            --json) json=$2; shift 2 ;;
            --color) color=$2; shift 2 ;;
            --description|-d) description=$2; shift 2 ;;
            --force|-f) force=1; shift ;;
            --jq|-q|--repo|-R) die "fake gh: $1 is not supported here" ;;
            -*) die "unknown flag: $1" ;;
            *) [ -z "$number" ] || die "accepts at most 1 arg(s), received 2"; number=$1; shift ;;
        esac
    done
}

each() { printf '%s\n' "$1" | while IFS= read -r l; do [ -z "$l" ] || printf '%s\n' "$l"; done; }

existing() {
    [ -n "$number" ] || die "argument required"
    [ -d "$S/$1/$number" ] || die "GraphQL: Could not resolve to a $2 with the number of $number."
    echo "$S/$1/$number"
}

# A new pull request or issue in folder $1, from the options: open, with its labels.
write_new() {
    mkdir -p "$1"
    printf '%s' "$title" > "$1/title"
    printf '%s' "$body" > "$1/body"
    printf 'OPEN' > "$1/state"
    for l in $(each "$adds"); do add_label "$1" "$l"; done
}

# `edit` of the pull request or issue in folder $1: every label is checked before anything
# changes, as gh does.
edit() {
    for l in $(each "$adds"); do need_label "$l"; done
    [ -z "$title" ] || printf '%s' "$title" > "$1/title"
    [ -z "$body_set" ] || printf '%s' "$body" > "$1/body"
    for l in $(each "$adds"); do add_label "$1" "$l"; done
    for l in $(each "$removes"); do remove_label "$1" "$l"; done
}

# `close` of the pull request or issue in folder $1, with the comment if there is one.
close() {
    printf 'CLOSED' > "$1/state"
    [ -z "$comment" ] || printf '%s\n' "$comment" >> "$1/comments"
}

[ $# -ge 2 ] || die "fake gh: a subcommand is needed"
group=$1 verb=$2
shift 2
parse "$@"
case "$group $verb" in
"label create")
    [ -n "$number" ] || die "cannot create label: name argument required"
    if [ -f "$S/labels/$number" ] && [ -z "$force" ]; then
        die "label with name \"$number\" already exists; use \`--force\` to update its color and description"
    fi
    printf '%s\n%s\n' "$color" "$description" > "$S/labels/$number"
    ;;
"pr list")
    [ -n "$json" ] || die "fake gh: only --json output is supported"
    list pulls "$head" "$base" "$state" "$label"
    ;;
"issue list")
    [ -n "$json" ] || die "fake gh: only --json output is supported"
    list issues "" "" "$state" "$label"
    ;;
"pr create")
    [ -n "$title" ] && [ -n "$body_set" ] && [ -n "$head" ] && [ -n "$base" ] ||
        die "fake gh: pr create needs --title, --body(-file), --head and --base"
    for l in $(each "$adds"); do need_label "$l"; done
    if [ -z "$(git ls-remote origin "refs/heads/$head")" ]; then
        die "pull request create failed: GraphQL: Head sha can't be blank, No commits between $base and $head, Head ref must be a branch (createPullRequest)"
    fi
    open=$(list pulls "$head" "$base" open "")
    if [ "$open" != "[]" ]; then
        n=$(printf '%s' "$open" | sed 's/^\[{"number":\([0-9]*\).*/\1/')
        die "a pull request for branch \"$head\" into branch \"$base\" already exists:
$REPO/pull/$n"
    fi
    n=$(next_number)
    d="$S/pulls/$n"
    write_new "$d"
    printf '%s' "$head" > "$d/head"
    printf '%s' "$base" > "$d/base"
    echo "$REPO/pull/$n"
    ;;
"pr edit")
    d=$(existing pulls "PullRequest")
    edit "$d"
    echo "$REPO/pull/$number"
    ;;
"pr close")
    d=$(existing pulls "PullRequest")
    if [ "$(cat "$d/state")" != OPEN ]; then
        echo "! Pull request $REPO/pull/$number is already closed" >&2
        exit 0
    fi
    close "$d"
    ;;
"issue create")
    [ -n "$title" ] && [ -n "$body_set" ] || die "fake gh: issue create needs --title and --body(-file)"
    for l in $(each "$adds"); do need_label "$l"; done
    n=$(next_number)
    write_new "$S/issues/$n"
    echo "$REPO/issues/$n"
    ;;
"issue edit")
    d=$(existing issues "Issue")
    edit "$d"
    echo "$REPO/issues/$number"
    ;;
"issue close")
    d=$(existing issues "Issue")
    close "$d"
    ;;
*)
    die "fake gh: unsupported command: $group $verb"
    ;;
esac
