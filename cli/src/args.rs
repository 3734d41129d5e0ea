//! The command line: every command, option and `--help` example, declared with clap.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
use invaro::{DocumentKind, types};

/// Parse invoices and bank statements with the Invaro Document Processing API.
// No Debug: it holds the API key.
#[derive(Parser)]
#[command(name = "invaro", version, about, propagate_version = true)]
#[command(after_help = "\
Examples:
  export INVARO_API_KEY=sk_live_...
  invaro parse invoice.pdf --kind invoice
  invaro batch ./statements --kind statement --json > results.json
  invaro demo                      # try it against a local sandbox, no key needed

Exit codes: 0 success, 1 API or network error, 2 usage error or bad input,
3 a job failed, 4 timed out waiting, 130 interrupted.")]
pub struct Cli {
    /// API key [env: INVARO_API_KEY].
    // The id matches the sandbox's own `--api-key` so the global is not propagated onto
    // `invaro sandbox`, where the flag means the key the sandbox accepts.
    #[arg(long = "api-key", id = "api_keys", value_name = "KEY", global = true)]
    pub api_key: Option<String>,

    /// API base URL [env: INVARO_BASE_URL; default: the production API, `https://api.invaro.ai/api/v1`].
    #[arg(long, value_name = "URL", global = true)]
    pub base_url: Option<String>,

    /// Print machine-readable JSON on stdout: one document per command.
    #[arg(long, global = true)]
    pub json: bool,

    /// Log every request on stderr (operation, attempt, status); on runs longer than a second,
    /// also the rate budget once a second (left, in flight, waiting, the API's last word).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// How long opening a connection may take, such as 10s (default 10s; at most 1h).
    #[arg(long, value_name = "DURATION", global = true, value_parser = request_timeout)]
    pub connect_timeout: Option<Duration>,

    /// The longest silence on a connection (waiting for an answer, or between two pieces of a
    /// body), such as 30s (default 30s; at most 1h). A transfer that keeps moving never times out.
    #[arg(long, value_name = "DURATION", global = true, value_parser = request_timeout)]
    pub read_timeout: Option<Duration>,

    /// Requests per minute the client allows itself, for keys on other plans (default 60).
    // clap names the variable itself; without a value shown it reads `[env: INVARO_RATE_LIMIT]`.
    #[arg(
        long,
        value_name = "N",
        global = true,
        env = "INVARO_RATE_LIMIT",
        hide_env_values = true,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub rate_limit: Option<u32>,

    /// Share the rate budget with every invaro process on the same key through this Redis, such
    /// as redis://:PASSWORD@HOST:6379 (the password is never printed).
    #[arg(
        long = "redis",
        value_name = "URL",
        global = true,
        env = "INVARO_REDIS_URL",
        hide_env_values = true
    )]
    pub redis: Option<String>,

    /// The window --rate-limit counts in, such as 1s (for tests against a sandbox started with a
    /// compressed window; default 1m).
    #[arg(
        long,
        value_name = "DURATION",
        global = true,
        hide = true,
        env = "INVARO_RATE_WINDOW",
        value_parser = request_timeout
    )]
    pub rate_window: Option<Duration>,

    /// Milliseconds between job status checks (for tests; default grows from 1 s to 10 s).
    #[arg(
        long,
        value_name = "MS",
        global = true,
        hide = true,
        env = "INVARO_POLL_MS",
        value_parser = clap::value_parser!(u64).range(1..=60_000)
    )]
    pub poll_ms: Option<u64>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Subcommand)]
pub enum Command {
    /// Upload files, parse them and print (or save) each result.
    #[command(after_help = "\
Examples:
  invaro parse invoice.pdf --kind invoice
  invaro parse a.pdf b.png --kind statement --out results/
  invaro parse scan.jpg --kind invoice --no-wait      # prints the job id; see `invaro wait`

With --out DIR each result is saved as DIR/NAME.json, NAME being the file's name. Files that
share a name get the folders that tell them apart: `a/invoice.pdf` and `b/invoice.pdf` are saved
as DIR/a/invoice.pdf.json and DIR/b/invoice.pdf.json; the same file given twice is saved as
NAME.json, NAME-2.json, ... in the order given. A result file that already exists is an error
before anything is sent, unless --overwrite is given. The folder is checked (a folder, or
creatable, and writable) before anything is sent too.

Each result is saved as soon as its file finishes, and printed in the order given. Ctrl-C stops
waiting: what finished is printed or saved, and the command that resumes the jobs still running
is printed on stderr.")]
    Parse(ParseArgs),

    /// Upload files and print their document ids (for `invaro start`).
    #[command(after_help = "Example:\n  invaro upload invoice.pdf statement.pdf")]
    Upload {
        /// Files to upload: PDF, JPEG or PNG, at most 10 MB each.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },

    /// Start parse jobs for uploaded documents and print their job ids.
    #[command(after_help = "\
Example:
  invaro start --kind invoice f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4

Each job id is printed as soon as its job has started (with --json: one array at the end, also
printed on Ctrl-C).")]
    Start {
        /// What the documents are.
        #[arg(long, value_enum)]
        kind: DocumentKind,
        /// Document ids printed by `invaro upload`.
        #[arg(required = true, value_name = "DOCUMENT_ID")]
        document_ids: Vec<String>,
    },

    /// Show the status of jobs.
    #[command(after_help = "Example:\n  invaro status job_8f2c job_91ab")]
    Status {
        /// Job ids.
        #[arg(required = true, value_name = "JOB_ID")]
        job_ids: Vec<String>,
    },

    /// Wait for jobs to finish and print their results.
    #[command(after_help = "\
Examples:
  invaro wait job_8f2c --timeout 2m
  invaro wait --kind statement job_8f2c job_91ab --json")]
    Wait {
        /// Job ids.
        #[arg(required = true, value_name = "JOB_ID")]
        job_ids: Vec<String>,
        /// What the jobs parse (found out with one extra request when not given).
        #[arg(long, value_enum)]
        kind: Option<DocumentKind>,
        /// How long to wait for the jobs, from when the command runs: 30s, 2m, 500ms... (at most 24h).
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = wait_timeout)]
        timeout: Duration,
    },

    /// Parse every supported file in a folder and print a summary table; a rerun resumes.
    #[command(after_help = "\
Examples:
  invaro batch ./invoices --kind invoice
  invaro batch ./statements --kind statement --concurrency 8 --out results/
  invaro batch ./statements --status        # what the journal holds; nothing is sent

The batch keeps a journal (DIR/.invaro-batch.sqlite unless --journal says where): for each
file its size and content hash, document id, job id, final status and result. Run the same
command again after any interruption (Ctrl-C, kill -9, a crash, a dead network) and it resumes:
finished files are skipped unless their content changed, uploaded files are started without
being uploaded again, started jobs are waited on by id. A file whose upload or start may have
reached the API without the answer being recorded is settled by asking the API; where the API
cannot tell, the file is reported as in doubt and left alone unless --retry-in-doubt is given.
Only one run may use a journal at a time.

The exit code is 0 only when every supported file parsed; unsupported files are skipped.")]
    Batch {
        /// The folder (not searched recursively).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// What the documents are.
        #[arg(long, value_enum, required_unless_present = "status")]
        kind: Option<DocumentKind>,
        /// Files uploading or starting at once (started jobs are waited on together).
        #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
        /// Save each result as DIR/FILE.json (see `invaro parse --help`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Replace result files that already exist under --out (those of files the journal
        /// knows are replaced anyway: they are its own).
        #[arg(long, requires = "out")]
        overwrite: bool,
        /// How long to wait for the jobs, from when the command runs: 30s, 2m, 500ms... (at most 24h).
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = wait_timeout)]
        timeout: Duration,
        /// The batch's journal [default: DIR/.invaro-batch.sqlite].
        #[arg(long, value_name = "PATH")]
        journal: Option<PathBuf>,
        /// Send again the uploads and starts a run left in doubt (they may then exist twice).
        #[arg(long)]
        retry_in_doubt: bool,
        /// Print what the journal holds, file by file, without touching the API.
        #[arg(long, conflicts_with_all = ["kind", "retry_in_doubt", "overwrite", "out"])]
        status: bool,
    },

    /// List, show, create and update extraction schemas.
    #[command(subcommand)]
    Schemas(SchemasCommand),

    /// List, show, download and delete uploaded files.
    #[command(subcommand)]
    Files(FilesCommand),

    /// Sign and verify webhook deliveries.
    #[command(subcommand)]
    Webhook(WebhookCommand),

    /// Run a local sandbox API in the foreground (the flags of `invaro-sandbox`).
    #[command(after_help = "\
Example:
  invaro sandbox --addr 127.0.0.1:8080 --api-key test-key
  # elsewhere:
  invaro --base-url http://127.0.0.1:8080/api/v1 --api-key test-key parse invoice.pdf --kind invoice")]
    Sandbox(invaro_sandbox::SandboxArgs),

    /// Start a sandbox in this process and parse a bundled sample invoice, end to end.
    #[command(after_help = "Example:\n  invaro demo")]
    Demo {
        /// Jobs finish at once (for tests).
        #[arg(long, hide = true)]
        instant: bool,
    },

    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  invaro completions bash > ~/.local/share/bash-completion/completions/invaro
  invaro completions zsh > ~/.zfunc/_invaro
  invaro completions fish > ~/.config/fish/completions/invaro.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The options of `invaro parse`.
#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Files to parse: PDF, JPEG or PNG, at most 10 MB each.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// What the documents are.
    #[arg(long, value_enum)]
    pub kind: DocumentKind,
    /// Start the jobs and print their ids without waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// Save each result as DIR/FILE.json instead of printing it (the folder is created).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace result files that already exist under --out.
    #[arg(long, requires = "out")]
    pub overwrite: bool,
    /// How long to wait for the jobs, from when the command runs: 30s, 2m, 500ms... (at most 24h).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = wait_timeout)]
    pub timeout: Duration,
    /// Receive webhooks on ADDR (such as 127.0.0.1:8787) and send its URL as each job's
    /// callback_url: results show as soon as they are delivered, and polling slows to every
    /// 30 s, only to catch a lost delivery. Needs --webhook-secret.
    #[arg(
        long,
        value_name = "ADDR",
        requires = "webhook_secret",
        conflicts_with = "no_wait"
    )]
    pub webhook_listen: Option<String>,
    /// The callback URL to send, when the API reaches the listener through a proxy or tunnel
    /// [default: http://ADDR/].
    #[arg(long, value_name = "URL", requires = "webhook_listen")]
    pub webhook_url: Option<String>,
    /// The secret webhook deliveries are signed with.
    #[arg(
        long,
        env = "INVARO_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub webhook_secret: Option<String>,
}

/// `invaro schemas ...`.
#[derive(Debug, Subcommand)]
pub enum SchemasCommand {
    /// List schemas.
    #[command(after_help = "Example:\n  invaro schemas list --type invoice")]
    List {
        /// Only schemas of this type.
        #[arg(long = "type", value_enum)]
        type_: Option<DocumentKind>,
        /// Page number, from 1.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        page: Option<u32>,
        /// Schemas per page, 1 to 100.
        #[arg(long, value_parser = page_size)]
        page_size: Option<u32>,
    },
    /// Show one schema.
    #[command(after_help = "Example:\n  invaro schemas get 3f0c1b2a-...")]
    Get {
        /// Schema id.
        id: String,
    },
    /// Create a schema from a JSON file.
    #[command(
        after_help = "Example:\n  invaro schemas create --name gst-invoice --type invoice --file schema.json"
    )]
    Create {
        /// Unique name.
        #[arg(long)]
        name: String,
        /// What the schema extracts.
        #[arg(long = "type", value_enum)]
        type_: DocumentKind,
        /// The schema: a JSON object, from a file or `-` for stdin.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// A description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Replace a schema's definition (its version goes up by one).
    #[command(after_help = "Example:\n  invaro schemas update 3f0c1b2a-... --file schema-v2.json")]
    Update {
        /// Schema id.
        id: String,
        /// The new schema: a JSON object, from a file or `-` for stdin.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
    },
}

/// `invaro files ...`.
#[derive(Debug, Subcommand)]
pub enum FilesCommand {
    /// List uploaded files.
    #[command(after_help = "Example:\n  invaro files list --status completed")]
    List {
        /// Only files with this status: pending, processing, completed, failed or deleted.
        #[arg(long, value_parser = parse_file_status)]
        status: Option<types::FileStatus>,
        /// Only files of this kind of document.
        #[arg(long = "type", value_enum)]
        type_: Option<DocumentKind>,
        /// Page number, from 1.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        page: Option<u32>,
        /// Files per page, 1 to 100.
        #[arg(long, value_parser = page_size)]
        page_size: Option<u32>,
    },
    /// Show one file and what was parsed from it.
    #[command(after_help = "Example:\n  invaro files get f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4")]
    Get {
        /// File id (the document id printed by `invaro upload`).
        id: String,
    },
    /// Download a file's original bytes.
    #[command(after_help = "\
Example:
  invaro files download f663d9ac-... --out invoice.pdf

The file is written under a temporary name in the same folder and renamed into place once all
of it has arrived (and its length matches what the server announced), so an existing file is
replaced only by a complete download and a failed one leaves nothing behind.")]
    Download {
        /// File id.
        id: String,
        /// Where to save it, replacing a file that is there (`-` for stdout).
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
    },
    /// Delete a file.
    #[command(after_help = "Example:\n  invaro files delete f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4")]
    Delete {
        /// File id.
        id: String,
    },
}

/// `invaro webhook ...`.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Check a delivery's X-Signature header against its raw body.
    #[command(after_help = "\
Example:
  invaro webhook verify --secret \"$WEBHOOK_SECRET\" --signature 'sha256=9f86d0...' body.json

Exit code 0 when the signature matches, 1 when it does not.")]
    Verify {
        /// The webhook secret.
        #[arg(long, env = "INVARO_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// The X-Signature header value, `sha256=<hex>`.
        #[arg(long, value_name = "HEADER")]
        signature: String,
        /// The raw body: a file, or `-` for stdin.
        #[arg(value_name = "FILE", default_value = "-")]
        body: PathBuf,
    },
    /// Print the X-Signature header value for a body.
    #[command(
        after_help = "Example:\n  echo -n '{\"event\":\"job.completed\"}' | invaro webhook sign --secret s3cret"
    )]
    Sign {
        /// The webhook secret.
        #[arg(long, env = "INVARO_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// The raw body: a file, or `-` for stdin.
        #[arg(value_name = "FILE", default_value = "-")]
        body: PathBuf,
    },
}

/// Reads a file status as the API spells it.
fn parse_file_status(text: &str) -> Result<types::FileStatus, String> {
    text.parse().map_err(|_| {
        format!("{text:?} is not one of pending, processing, completed, failed, deleted")
    })
}

/// The longest `--timeout` for waiting on jobs (a parse takes minutes).
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// The longest connect or read timeout.
const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// A `--timeout` for waiting on jobs: more than 0, at most 24h.
fn wait_timeout(text: &str) -> Result<Duration, String> {
    duration_within(text, MAX_WAIT, "24h")
}

/// A `--connect-timeout` or `--read-timeout`: more than 0, at most 1h.
fn request_timeout(text: &str) -> Result<Duration, String> {
    duration_within(text, MAX_REQUEST_TIMEOUT, "1h")
}

/// A duration more than 0 and at most `max` (written `max_text` in the message).
fn duration_within(text: &str, max: Duration, max_text: &str) -> Result<Duration, String> {
    let too_long = || format!("{text:?} is too long: at most {max_text}");
    let duration = parse_duration(text).map_err(|e| match e {
        DurationError::TooLarge => too_long(),
        DurationError::Malformed(message) => message,
    })?;
    if duration.is_zero() {
        return Err(format!("{text:?} must be more than 0"));
    }
    if duration > max {
        return Err(too_long());
    }
    Ok(duration)
}

/// Why a duration could not be read.
#[derive(Debug, PartialEq, Eq)]
enum DurationError {
    /// It is not a whole number with a unit; the message says how.
    Malformed(String),
    /// The number does not fit.
    TooLarge,
}

/// Reads `500ms`, `30s`, `2m` or `1h`, with checked arithmetic.
fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let malformed = |message: String| DurationError::Malformed(message);
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| {
        malformed(format!(
            "{text:?} needs a unit: ms, s, m or h (such as 30s)"
        ))
    })?;
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(malformed(format!(
            "{text:?} must start with a whole number (such as 30s)"
        )));
    }
    // Only digits are left, so the one way to fail is being too large.
    let number: u64 = number.parse().map_err(|_| DurationError::TooLarge)?;
    let seconds = |factor: u64| {
        number
            .checked_mul(factor)
            .map(Duration::from_secs)
            .ok_or(DurationError::TooLarge)
    };
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        _ => Err(malformed(format!(
            "{text:?} has unit {unit:?}; use ms, s, m or h"
        ))),
    }
}

/// A page size the API accepts: 1 to 100.
fn page_size(text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or_else(|| format!("{text:?} is not a whole number from 1 to 100"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// The environment variables a help text names, in order (`[env: NAME]`, `[env: NAME=..]`).
    fn env_mentions(help: &str) -> Vec<&str> {
        help.match_indices("[env: ")
            .map(|(at, marker)| {
                let rest = &help[at + marker.len()..];
                &rest[..rest.find([']', '=', ';']).unwrap_or(rest.len())]
            })
            .collect()
    }

    #[test]
    fn no_help_names_an_environment_variable_or_a_default_twice() {
        let mut root = Cli::command();
        root.build();
        let mut pending = vec![("invaro".to_owned(), root)];
        let mut helps = 0;
        while let Some((path, mut command)) = pending.pop() {
            for help in [command.render_help(), command.render_long_help()] {
                let help = help.to_string();
                let mut names = env_mentions(&help);
                names.sort_unstable();
                let twice: Vec<_> = names.windows(2).filter(|w| w[0] == w[1]).collect();
                assert!(
                    twice.is_empty(),
                    "`{path} --help` names {twice:?} twice:\n{help}"
                );
                // An option line that shows clap's `[default: ..]` says no other default.
                for line in help.lines().filter(|l| l.contains("[default:")) {
                    let defaults = line.to_lowercase().matches("default").count();
                    assert_eq!(
                        defaults, 1,
                        "`{path} --help` states a default twice: {line}"
                    );
                }
                helps += 1;
            }
            for sub in command.get_subcommands() {
                pending.push((format!("{path} {}", sub.get_name()), sub.clone()));
            }
        }
        assert!(
            helps > 20,
            "only {helps} help texts: are subcommands walked?"
        );
        let shown =
            "--rate-limit <N>  per minute [env: INVARO_RATE_LIMIT] [env: INVARO_RATE_LIMIT=]";
        assert_eq!(
            env_mentions(shown),
            ["INVARO_RATE_LIMIT", "INVARO_RATE_LIMIT"]
        );
    }

    #[test]
    fn durations_read_with_units_and_refuse_without() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["30", "s", "2x", "", "1.5s", "-1s", "+1s", " 1s"] {
            assert!(
                matches!(parse_duration(bad), Err(DurationError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations_that_do_not_fit_are_refused_without_panicking() {
        for huge in [
            "99999999999999999h",
            "18446744073709551615m",
            "18446744073709551616ms",
            "99999999999999999999999999s",
        ] {
            assert_eq!(parse_duration(huge), Err(DurationError::TooLarge), "{huge}");
            let message = wait_timeout(huge).unwrap_err();
            assert!(message.contains("at most 24h"), "{message}");
        }
        assert_eq!(wait_timeout("24h"), Ok(MAX_WAIT));
        assert!(wait_timeout("1441m").unwrap_err().contains("at most 24h"));
        assert!(wait_timeout("0s").unwrap_err().contains("more than 0"));
        assert!(request_timeout("61m").unwrap_err().contains("at most 1h"));
        assert_eq!(request_timeout("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn the_sdks_document_kind_reads_every_spelling_of_a_statement() {
        for spelling in ["statement", "bank-statement", "bank_statement"] {
            let cli = Cli::try_parse_from(["invaro", "schemas", "list", "--type", spelling])
                .unwrap_or_else(|e| panic!("{spelling}: {e}"));
            let Command::Schemas(SchemasCommand::List { type_, .. }) = cli.command else {
                panic!("parsed as another command")
            };
            assert_eq!(type_, Some(DocumentKind::Statement), "{spelling}");
        }
        assert!(Cli::try_parse_from(["invaro", "files", "list", "--type", "receipt"]).is_err());
    }

    #[test]
    fn page_sizes_are_1_to_100() {
        assert_eq!(page_size("100"), Ok(100));
        for bad in ["0", "101", "-1", "x", "99999999999999999999"] {
            assert!(page_size(bad).unwrap_err().contains("1 to 100"), "{bad}");
        }
    }

    #[test]
    fn the_sandbox_keeps_its_own_api_key_flag() {
        let cli = Cli::try_parse_from(["invaro", "sandbox", "--api-key", "k1", "--api-key", "k2"])
            .expect("the sandbox accepts repeated keys");
        let Command::Sandbox(args) = cli.command else {
            panic!("parsed as another command")
        };
        assert_eq!(args.api_keys, ["k1", "k2"]);
        let cli = Cli::try_parse_from(["invaro", "status", "job_1", "--api-key", "k"])
            .expect("the global key is accepted after a command");
        assert_eq!(cli.api_key.as_deref(), Some("k"));
    }
}
