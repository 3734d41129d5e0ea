//! A local Invaro Document Processing API.
