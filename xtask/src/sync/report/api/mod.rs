//! The Rust-API verdict, from the code: the client generated from the old spec and the one
//! generated from the new spec are read with `syn` ([`extract`]) and compared item by item, and
//! the hand-written files of `client/src` are scanned for what they use ([`uses`]).
//!
//! | item change | breaks the Rust API | why |
//! |---|---|---|
//! | method, setter, type, field, variant or trait impl removed | yes | code naming it stops compiling |
//! | setter's argument, field's or variant's type changed, `send`'s answer changed | yes | a field's type change is invisible to cargo-semver-checks, and breaks all the same |
//! | field added to a struct whose fields are all public | yes | literals stop compiling (cargo-semver-checks: `constructible_struct_adds_field`) |
//! | variant added to an enum without `#[non_exhaustive]` | yes | a `match` without a wildcard stops compiling (`enum_variant_added`) |
//! | setter added, required (the builder starts without its value) | yes | it compiles, but `.send()` fails at run time until code sets it |
//! | setter now required | yes | the same, for code that never set it |
//! | method, setter, type or trait impl added | no | additions (a minor bump on 1.x) |
//! | an item the hand-written layer uses removed or changed | yes | `invaro` itself no longer builds |
//!
//! An enum the client replaces by a hand-written open type (`invaro_codegen::OPEN_ENUMS`:
//! `JobStatus`) is not generated, so its values come and go without any item changing.

pub mod extract;
pub mod uses;

use std::collections::BTreeSet;

use serde::Serialize;

use super::Status;
use extract::{Api, Item, Kind};
use uses::Uses;

/// One public item of the client that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiChange {
    /// The item: `GetSchema::schema_id`, `types::FileRecord::size`, `Client::list_files`.
    pub item: String,
    /// Added, removed or type changed (`now_required` for a setter).
    pub change: Status,
    /// Old and new type, or why an addition breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether code using `invaro` may stop compiling, or start failing at run time.
    pub breaking: bool,
    /// Hand-written files of the client that use the item as it was: `invaro` itself no longer
    /// builds until they are fixed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breaks_own_code: Vec<String>,
    /// The operation builder (`GetSchema`) or named type (`FileRecord`) it belongs to.
    #[serde(skip)]
    pub owner: Owner,
}

/// What an item belongs to, to tie it to the operations of the report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Owner {
    /// An operation's method, builder, setter or `send`: the builder's name.
    Operation(String),
    /// A named type, its fields, variants and impls: the type's name.
    Type(String),
    /// Nothing in particular.
    #[default]
    None,
}

impl ApiChange {
    /// One line: `GetSchema::schema_id removed`, with the detail; when our own files use the
    /// item, `client/src/resources/schemas.rs uses GetSchema::schema_id, removed: invaro no
    /// longer builds`.
    pub fn line(&self) -> String {
        let detail = self
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let status = status_word(self.change);
        if self.breaks_own_code.is_empty() {
            return format!("{} {status}{detail}", self.item);
        }
        let verb = if self.change == Status::Added {
            "builds or matches the type of"
        } else {
            "uses"
        };
        format!(
            "{} {verb} {}, {status}{detail}: invaro no longer builds",
            self.breaks_own_code.join(" and "),
            self.item
        )
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Added => "added",
        Status::Removed => "removed",
        Status::TypeChanged => "type changed",
        Status::NowRequired => "now required",
        Status::NowOptional => "now optional",
        _ => "changed",
    }
}

/// Compares the public APIs of two generated clients; `own` is what the hand-written files use.
pub fn compare(old: &Api, new: &Api, own: &[Uses]) -> Vec<ApiChange> {
    let keys: BTreeSet<&String> = old.items.keys().chain(new.items.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        let change = match (old.items.get(key), new.items.get(key)) {
            (Some(before), None) if !parent_gone(before, new) => Some(removed(key, before)),
            (None, Some(after)) if !parent_gone(after, old) => added(key, after, old),
            (Some(before), Some(after)) => changed(key, before, after),
            _ => None,
        };
        if let Some(mut change) = change {
            change.breaks_own_code = own_code(&change, old, own);
            change.breaking |= !change.breaks_own_code.is_empty();
            changes.push(change);
        }
    }
    changes
}

/// Whether the item's parent is missing from `other`: the parent's change says it all.
fn parent_gone(item: &Item, other: &Api) -> bool {
    item.kind == Kind::Builder
        || item
            .parent
            .as_ref()
            .is_some_and(|parent| !other.items.contains_key(parent))
}

fn owner(key: &str, item: &Item) -> Owner {
    let named = |ty: &str| {
        let name = ty.strip_prefix("types::").unwrap_or(ty);
        Owner::Type(name.split("::").next().unwrap_or(name).to_owned())
    };
    match item.kind {
        Kind::Method => Owner::Operation(pascal(key.strip_prefix("Client::").unwrap_or(key))),
        Kind::Setter | Kind::Send | Kind::Builder => {
            Owner::Operation(key.split("::").next().unwrap_or(key).to_owned())
        }
        Kind::Impl => item.parent.as_deref().map_or(Owner::None, named),
        Kind::Type | Kind::Field | Kind::Variant => named(key),
    }
}

fn change(
    key: &str,
    item: &Item,
    status: Status,
    detail: Option<String>,
    breaking: bool,
) -> ApiChange {
    ApiChange {
        item: key.to_owned(),
        change: status,
        detail,
        breaking,
        breaks_own_code: Vec::new(),
        owner: owner(key, item),
    }
}

fn removed(key: &str, item: &Item) -> ApiChange {
    change(key, item, Status::Removed, None, true)
}

fn added(key: &str, item: &Item, old: &Api) -> Option<ApiChange> {
    let parent_closed = || {
        item.parent
            .as_ref()
            .and_then(|p| old.items.get(p))
            .is_some_and(|p| p.closed)
    };
    let (breaking, detail) = match item.kind {
        Kind::Builder => return None,
        Kind::Field if parent_closed() => (
            true,
            Some(format!(
                "{}; every field is public, so a struct literal without it no longer compiles: constructible_struct_adds_field",
                item.sig
            )),
        ),
        Kind::Variant if parent_closed() => (
            true,
            Some("a match without a wildcard no longer compiles: enum_variant_added".into()),
        ),
        Kind::Setter if item.required => (
            true,
            Some(format!(
                "{}, required: code compiles, but .send() fails at run time until it is set",
                item.sig
            )),
        ),
        Kind::Field | Kind::Setter => (false, Some(item.sig.clone())),
        _ => (false, None),
    };
    Some(change(key, item, Status::Added, detail, breaking))
}

fn changed(key: &str, before: &Item, after: &Item) -> Option<ApiChange> {
    if before.sig != after.sig || before.kind != after.kind {
        let detail = format!("{} -> {}", show(&before.sig), show(&after.sig));
        return Some(change(key, after, Status::TypeChanged, Some(detail), true));
    }
    if after.kind == Kind::Setter && !before.required && after.required {
        let detail = "code compiles, but .send() fails at run time until it is set".to_owned();
        return Some(change(key, after, Status::NowRequired, Some(detail), true));
    }
    if after.kind == Kind::Type && before.closed != after.closed {
        let status = if after.closed {
            Status::Changed
        } else {
            Status::TypeChanged
        };
        let detail = if after.closed {
            "now exhaustive or constructible"
        } else {
            "no longer exhaustive or constructible: literals and wildcard-free matches break"
        };
        return Some(change(
            key,
            after,
            status,
            Some(detail.into()),
            !after.closed,
        ));
    }
    None
}

fn show(sig: &str) -> &str {
    if sig.is_empty() { "()" } else { sig }
}

/// The hand-written files that use the item as it was, when its change breaks them.
fn own_code(change: &ApiChange, old: &Api, own: &[Uses]) -> Vec<String> {
    let gone = matches!(change.change, Status::Removed | Status::TypeChanged);
    let kind = old.items.get(&change.item).map(|i| i.kind);
    let segments: Vec<&str> = change.item.split("::").collect();
    let uses = |file: &Uses| -> bool {
        match (kind, segments.as_slice()) {
            (Some(Kind::Method), ["Client", method]) if gone => file.calls.contains(*method),
            (Some(Kind::Setter | Kind::Send), [builder, setter]) if gone => {
                file.calls.contains(&snake(builder)) && file.calls.contains(*setter)
            }
            (Some(Kind::Type), ["types", ty]) if gone => file.types.contains(*ty),
            (Some(Kind::Field), ["types", ty, field]) if gone => {
                file.types.contains(*ty)
                    && (file.fields.contains(*field)
                        || file
                            .literal_fields
                            .contains(&((*ty).to_owned(), (*field).to_owned())))
            }
            (Some(Kind::Variant), ["types", ty, variant]) if gone => file
                .variants
                .contains(&((*ty).to_owned(), (*variant).to_owned())),
            (None, ["types", ty, _]) if change.change == Status::Added && change.breaking => {
                file.literals.contains(*ty) || file.matches.contains(*ty)
            }
            _ => false,
        }
    };
    own.iter()
        .filter(|f| uses(f))
        .map(|f| f.file.clone())
        .collect()
}

/// `get_schema` -> `GetSchema`.
pub fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `GetSchema` -> `get_schema`.
pub fn snake(pascal: &str) -> String {
    let mut out = String::new();
    for (at, c) in pascal.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if at > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A name with case and separators left out, to match an operationId (`getSchema`), a builder
/// (`GetSchema`) and a method (`get_schema`).
pub fn folded(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
