//! What the API accepts, defined once: file size and count limits, batch size, file types and
//! the first-bytes check. The SDK checks uploads with these before sending, and the CLI checks
//! files with the same [`check`] before anything is uploaded.
//!
//! ```
//! use invaro::facts;
//! assert_eq!(facts::check(1_000, b"%PDF-1.7\n"), Ok("application/pdf"));
//! assert!(facts::check(1_000, b"GIF89a").is_err());
//! assert!(facts::check(facts::MAX_FILE_BYTES + 1, b"%PDF-1.7").is_err());
//! ```

/// The largest file the API accepts: 10 MB.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// The most files one upload may carry.
pub const MAX_FILES: usize = 50;
/// The most documents one batch start may carry.
pub const MAX_BATCH: usize = 10;
/// The media types the API parses, as [`sniff`] names them.
pub const FILE_TYPES: [&str; 3] = ["application/pdf", "image/jpeg", "image/png"];
/// How many first bytes [`sniff`] needs.
pub const HEAD_BYTES: usize = 8;

/// The media type of a document by its magic number (PDF, JPEG or PNG), from its first
/// [`HEAD_BYTES`] bytes.
///
/// ```
/// assert_eq!(invaro::sniff(b"%PDF-1.7"), Some("application/pdf"));
/// assert_eq!(invaro::sniff(b"GIF89a"), None);
/// ```
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        Some(FILE_TYPES[0])
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FILE_TYPES[1])
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FILE_TYPES[2])
    } else {
        None
    }
}

/// Whether the API would take a file of `len` bytes starting with `head`: its media type, or
/// the rule it breaks (a phrase to follow the file's name: "is empty").
///
/// ```
/// assert_eq!(invaro::facts::check(0, b"%PDF-1.7"), Err("is empty".to_owned()));
/// ```
///
/// # Errors
///
/// The rule the file breaks, as a phrase to follow its name: it is empty, larger than
/// [`MAX_FILE_BYTES`], or not a PDF, JPEG or PNG by its first bytes.
pub fn check(len: u64, head: &[u8]) -> Result<&'static str, String> {
    if len == 0 {
        return Err("is empty".into());
    }
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "is {len} bytes; the API accepts at most {MAX_FILE_BYTES} (at most 10 MB)"
        ));
    }
    sniff(head).ok_or_else(|| "is not a PDF, JPEG or PNG file (judged by its first bytes)".into())
}
