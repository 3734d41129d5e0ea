//! The wire verdicts: what each kind of spec change breaks on the wire, that is whether a client
//! built against the old spec may fail against a server of the new one.
//!
//! The Rust-API verdict is not a rule about a style: it comes from the code
//! ([`api`](super::api) compares the client generated from the old spec with the one generated
//! from the new spec, and scans the hand-written layer). Every function here answers the wire
//! only and leaves `rust_api` false; [`judge`](super::judge) fills it in. What the builder
//! interface makes of each change, as the code comparison finds it, is in the last column.
//!
//! | change | wire | Rust API of the builder client (from the code) |
//! |---|---|---|
//! | operation added | no | no (a method and its builder are added) |
//! | operation removed | yes | yes (`Client::op` removed) |
//! | operation moved (other path or method, same operationId) | yes | no (same method, same setters) |
//! | operationId renamed | no | yes (the method and its builder are renamed) |
//! | path parameter renamed (`{schema_id}` to `{id}`) | no | yes (the setter is renamed: `GetSchema::schema_id` removed) |
//! | parameter added, optional | no | no (a setter is added) |
//! | parameter added, required | yes | yes (a setter is added; `.send()` fails at run time until code sets it) |
//! | request field added, optional or required | no / yes | yes (the body struct's fields are all public: `constructible_struct_adds_field`) |
//! | parameter removed | no (the server ignores it) | yes (the setter is removed) |
//! | request field removed | no | yes (the field is removed) |
//! | parameter or request field now required | yes | yes (`.send()` fails until set; a field's type loses its `Option`) |
//! | parameter or request field now optional | no | yes for a field (`T` becomes `Option<T>`); a setter keeps its type |
//! | response field added, optional or required | no | yes (a public field added to a struct whose fields are all public) |
//! | response field removed, was required / optional | yes / no | yes |
//! | response field now optional | yes | yes (`T` becomes `Option<T>`) |
//! | response field now required | no | yes (`Option<T>` becomes `T`) |
//! | type changed (anywhere) | yes | yes (a setter's argument or a field's type changes) |
//! | enum value added, where a response uses it | yes (a value old clients never saw) | yes (a variant added to an exhaustive enum) |
//! | enum value added, in a request only | no | yes (the same) |
//! | enum value removed, where a request uses it | yes (old clients may send it) | yes (the variant is removed) |
//! | enum value removed, in a response only | no | yes |
//! | enum value of `JobStatus` added or removed | as above | no (a hand-written open enum: no variant changes) |
//! | success status (2xx) added or removed | yes (old clients do not expect the new code) | only if the answer's type changes |
//! | error status (any other, and `default`) added or removed | no (an error either way) | only if the error's type changes |
//!
//! A schema used on both sides has its enum changes judged on each side where it appears. Any
//! change after which the hand-written layer of `client/src` no longer builds is a Rust-API break
//! whatever the table says.

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
    wire(change != Status::Added)
}

/// The operationId renamed: the request is the same.
pub const OPERATION_RENAMED: Breaks = Breaks::NONE;

/// A path parameter renamed: the URL is the same.
pub const PATH_PARAMETER_RENAMED: Breaks = Breaks::NONE;

/// A wire verdict, the Rust API left to the code comparison.
const fn wire(breaks: bool) -> Breaks {
    Breaks::new(breaks, false)
}

/// A field added or removed (`required` as it was where it exists), its type changed, or now
/// required or optional.
pub fn field(side: Side, change: Status, required: bool) -> Breaks {
    let sends = side.sends();
    wire(match change {
        Status::Added => sends && required,
        Status::Removed => !sends && required,
        Status::NowRequired => sends,
        Status::NowOptional => !sends,
        _ => true,
    })
}

/// An enum value added or removed on `side`.
pub fn enum_value(side: Side, change: Status) -> Breaks {
    wire(match change {
        Status::Added => !side.sends(),
        _ => side.sends(),
    })
}

/// A response status code added or removed.
pub fn status_code(code: &str) -> Breaks {
    wire(is_success(code))
}

/// Whether a response key is a success status: `2xx`, or the range `2XX`.
pub fn is_success(code: &str) -> bool {
    code.starts_with('2')
}
