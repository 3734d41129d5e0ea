//! Dates as statements print them: day first or ISO, with four- or two-digit years.

use std::borrow::Cow;

use chrono::NaiveDate;

/// `text` read day first (`31/01/2025`, `31-01-2025`, `31.01.2025`, `31-Jan-2025`,
/// `31 Jan 2025`, each also with a two-digit year) or as ISO `2025-01-31`; see
/// [`Transaction::parsed_date`](super::Transaction::parsed_date).
pub(super) fn read(text: &str) -> Option<NaiveDate> {
    const FORMATS: [&str; 6] = [
        "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d-%b-%Y", "%d %b %Y",
    ];
    let date = with_four_digit_year(text.trim())?;
    FORMATS
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(&date, format).ok())
}

/// `date` with a four-digit year, which it has when it starts (ISO) or ends (day first) with four
/// digits; two digits at the end are expanded by [`full_year`]. `None` for any other year, so that
/// chrono's `%Y`, which takes one to four digits, never reads `25` as the year 25.
fn with_four_digit_year(date: &str) -> Option<Cow<'_, str>> {
    let leading = date.bytes().take_while(u8::is_ascii_digit).count();
    let trailing = date.bytes().rev().take_while(u8::is_ascii_digit).count();
    match (leading, trailing) {
        (4, _) | (_, 4) => Some(Cow::Borrowed(date)),
        (_, 2) => {
            let (head, year) = date.split_at(date.len() - 2);
            Some(Cow::Owned(format!(
                "{head}{}",
                full_year(year.parse().ok()?)
            )))
        }
        _ => None,
    }
}

/// The POSIX `%y` pivot: `69`-`99` are 1969-1999, `00`-`68` are 2000-2068.
fn full_year(two_digits: u16) -> u16 {
    if two_digits >= 69 {
        1900 + two_digits
    } else {
        2000 + two_digits
    }
}
