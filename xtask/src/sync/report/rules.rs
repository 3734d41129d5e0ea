//! The verdicts: what each kind of change breaks, on the wire and in the Rust API.
//!
//! The wire breaks when a client built against the old spec may fail against a server of the new
//! one. The Rust API breaks when code using the `invaro` client may stop compiling after the
//! client is regenerated. That client is progenitor's positional interface: one method per
//! operation, named after the operationId, taking the path parameters in the order of the path,
//! then the query parameters (optional ones as `Option`), then the body; bodies and responses are
//! structs with public fields (request structs are built by their users, response structs read)
//! and enums without a catch-all variant.
//!
//! | change | wire | Rust API |
//! |---|---|---|
//! | operation added | no | no |
//! | operation removed | yes | yes |
//! | operation moved (other path or method, same operationId) | yes | no |
//! | operationId renamed | no | yes (the method is renamed) |
//! | path parameter renamed (`{schema_id}` to `{id}`) | no | no (arguments are positional) |
//! | parameter or request field added, required | yes | yes |
//! | parameter or request field added, optional | no | yes (a new argument or struct field) |
//! | parameter or request field removed | no (the server ignores it) | yes |
//! | parameter or request field now required | yes | yes |
//! | parameter or request field now optional | no | yes (`T` becomes `Option<T>`) |
//! | response field added | no | no |
//! | response field removed, was required | yes | yes |
//! | response field removed, was optional | no | yes |
//! | response field now optional | yes | yes |
//! | response field now required | no | yes (`Option<T>` becomes `T`) |
//! | type changed (anywhere) | yes | yes |
//! | enum value added, where a response uses it | yes (a value old clients never saw) | yes |
//! | enum value added, in a request only | no | yes (a new variant breaks a `match`) |
//! | enum value removed, where a request uses it | yes (old clients may send it) | yes |
//! | enum value removed, in a response only | no | yes (the variant is gone) |
//! | success status (2xx) added or removed | yes (old clients do not expect the new code) | no |
//! | error status (any other, and `default`) added or removed | no (an error either way) | no |
//!
//! A schema used on both sides has its enum changes judged on each side where it appears.
//!
//! Two judgements depend on the interface style: a renamed path parameter keeps the positional
//! signature (Rust has no named arguments) but would rename a builder-style client's setter; and an
//! optional parameter added is a new positional argument, where a builder would only gain a
//! setter. An enum the client replaces by a hand-written type that keeps unknown values
//! (`invaro_codegen::OPEN_ENUMS`: `JobStatus`) breaks no Rust API when its values change.

use super::{Breaks, Status};

/// Which side of the exchange a field is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A parameter: sent by the client, one argument of the method.
    Parameter,
    /// A field of the request body: sent by the client, built by the user.
    Request,
    /// A field of a response body: received by the client, read by the user.
    Response,
}

impl Side {
    fn sends(self) -> bool {
        self != Side::Response
    }
}

/// An operation added (`Status::Added`), removed (`Removed`) or moved (`Moved`).
pub fn operation(change: Status) -> Breaks {
    match change {
        Status::Added => Breaks::NONE,
        Status::Moved => Breaks::new(true, false),
        _ => Breaks::new(true, true),
    }
}

/// The operationId renamed: the method's name changes, the request does not.
pub const OPERATION_RENAMED: Breaks = Breaks::new(false, true);

/// A path parameter renamed: the URL is the same, and so is the positional signature.
pub const PATH_PARAMETER_RENAMED: Breaks = Breaks::NONE;

/// A field added or removed (`required` as it was where it exists), its type changed, or now
/// required or optional.
pub fn field(side: Side, change: Status, required: bool) -> Breaks {
    let sends = side.sends();
    match change {
        Status::Added if sends => Breaks::new(required, true),
        Status::Added => Breaks::NONE,
        Status::Removed if sends => Breaks::new(false, true),
        Status::Removed => Breaks::new(required, true),
        Status::NowRequired => Breaks::new(sends, true),
        Status::NowOptional => Breaks::new(!sends, true),
        _ => Breaks::new(true, true),
    }
}

/// An enum value added or removed on `side`; `open` when the client reads the enum with a
/// hand-written type that keeps unknown values (no variant comes or goes).
pub fn enum_value(side: Side, change: Status, open: bool) -> Breaks {
    let wire = match change {
        Status::Added => !side.sends(),
        _ => side.sends(),
    };
    Breaks::new(wire, !open)
}

/// A response status code added or removed.
pub fn status_code(code: &str) -> Breaks {
    Breaks::new(is_success(code), false)
}

/// Whether a response key is a success status: `2xx`, or the range `2XX`.
pub fn is_success(code: &str) -> bool {
    code.starts_with('2')
}
