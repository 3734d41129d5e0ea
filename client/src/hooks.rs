//! Cross-cutting behaviour of every call.

/// State shared by every call.
#[derive(Clone, Debug, Default)]
pub struct Hooks {}

impl progenitor_client::ClientHooks<Hooks> for crate::generated::Client {}
