//! What the hand-written files of `client/src` use of the generated code, read from their tokens:
//! the methods they call (a builder's setters, the `Client`'s operations), the fields they read,
//! the named types they mention (`types::X`), the variants they name, the types they build with a
//! struct literal (and with which fields), and the enums they `match` without a wildcard.
//!
//! Without type inference a token scan cannot tell whose `.status(` a call is: a setter counts as
//! used when the same file also calls its operation (`.get_schema()` and `.schema_id(..)`), a
//! field when the file also names its type. That is what a reviewer checks by eye, too.

use std::collections::BTreeSet;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// What one file uses.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Uses {
    /// The file, relative to the workspace root.
    pub file: String,
    /// Methods called (`.name(`).
    pub calls: BTreeSet<String>,
    /// Fields read (`.name` not called).
    pub fields: BTreeSet<String>,
    /// Named types mentioned as `types::X`.
    pub types: BTreeSet<String>,
    /// Variants named as `X::V` (`types::` or not).
    pub variants: BTreeSet<(String, String)>,
    /// Types built with a struct literal that lists every field (no `..`).
    pub literals: BTreeSet<String>,
    /// Fields set in struct literals and patterns of named types: (type, field).
    pub literal_fields: BTreeSet<(String, String)>,
    /// Enums whose variants a `match` lists without a wildcard arm.
    pub matches: BTreeSet<String>,
}

impl Uses {
    /// Scans the Rust source `text` of `file`; `None` when it does not tokenize.
    pub fn scan(file: &str, text: &str) -> Option<Uses> {
        let stream: TokenStream = text.parse().ok()?;
        let mut uses = Uses {
            file: file.to_owned(),
            ..Uses::default()
        };
        uses.walk(stream);
        Some(uses)
    }

    fn walk(&mut self, stream: TokenStream) {
        let tokens: Vec<TokenTree> = stream.into_iter().collect();
        for at in 0..tokens.len() {
            match &tokens[at] {
                TokenTree::Punct(p) if p.as_char() == '.' && !is_punct(tokens.get(at + 1), '.') => {
                    if at > 0 && is_punct(tokens.get(at - 1), '.') {
                        continue;
                    }
                    self.member(&tokens[at + 1..]);
                }
                TokenTree::Ident(ident) if ident == "types" && is_path_sep(&tokens, at + 1) => {
                    self.typed_path(&tokens, at);
                }
                TokenTree::Ident(ident) if ident == "match" => self.a_match(&tokens[at + 1..]),
                TokenTree::Ident(ident)
                    if is_upper(&ident.to_string()) && is_path_sep(&tokens, at + 1) =>
                {
                    if let Some(TokenTree::Ident(variant)) = tokens.get(at + 3) {
                        let variant = variant.to_string();
                        if is_upper(&variant) {
                            self.variants.insert((ident.to_string(), variant));
                        }
                    }
                }
                TokenTree::Group(group) => self.walk(group.stream()),
                _ => {}
            }
        }
    }

    /// After a `.`: a method call or a field read.
    fn member(&mut self, rest: &[TokenTree]) {
        let Some(TokenTree::Ident(name)) = rest.first() else {
            return;
        };
        let called = matches!(rest.get(1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
            || is_path_sep(rest, 1);
        if called {
            self.calls.insert(name.to_string());
        } else {
            self.fields.insert(name.to_string());
        }
    }

    /// `types::X`, `types::X::V`, `types::{A, B}`, `types::X { field: .. }`.
    fn typed_path(&mut self, tokens: &[TokenTree], at: usize) {
        match tokens.get(at + 3) {
            Some(TokenTree::Ident(name)) => {
                let name = name.to_string();
                self.types.insert(name.clone());
                let after = at + 4;
                if is_path_sep(tokens, after)
                    && let Some(TokenTree::Ident(variant)) = tokens.get(after + 2)
                {
                    self.variants.insert((name.clone(), variant.to_string()));
                }
                let returned = at >= 2
                    && is_punct(tokens.get(at - 1), '>')
                    && is_punct(tokens.get(at - 2), '-');
                if let Some(TokenTree::Group(body)) = tokens.get(after)
                    && body.delimiter() == Delimiter::Brace
                    && !returned
                {
                    self.literal(&name, body.stream());
                }
            }
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                let mut first = true;
                for token in &inner {
                    match token {
                        TokenTree::Ident(name) if first => {
                            self.types.insert(name.to_string());
                            first = false;
                        }
                        TokenTree::Punct(p) if p.as_char() == ',' => first = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// The braces after `types::X`: a struct literal or pattern when they start like one
    /// (`field:`, `field,`, `..`, or nothing).
    fn literal(&mut self, ty: &str, body: TokenStream) {
        let inner: Vec<TokenTree> = body.into_iter().collect();
        let starts_like_fields = match inner.first() {
            None => true,
            Some(TokenTree::Ident(_)) => match inner.get(1) {
                None => true,
                Some(TokenTree::Punct(p)) => {
                    (p.as_char() == ':' && !is_punct(inner.get(2), ':')) || p.as_char() == ','
                }
                _ => false,
            },
            Some(TokenTree::Punct(p)) => p.as_char() == '.',
            _ => false,
        };
        if !starts_like_fields {
            return;
        }
        let mut rest = false;
        let mut expect_name = true;
        for (at, token) in inner.iter().enumerate() {
            match token {
                TokenTree::Ident(name) if expect_name => {
                    self.literal_fields
                        .insert((ty.to_owned(), name.to_string()));
                    expect_name = false;
                }
                TokenTree::Punct(p) if p.as_char() == ',' => expect_name = true,
                TokenTree::Punct(p) if p.as_char() == '.' && is_punct(inner.get(at + 1), '.') => {
                    rest = true;
                }
                _ => expect_name = false,
            }
        }
        if !rest {
            self.literals.insert(ty.to_owned());
        }
    }

    /// `match <scrutinee> { arms }`: the enums an arm names, when no arm is a wildcard.
    fn a_match(&mut self, rest: &[TokenTree]) {
        let Some(arms) = rest.iter().find_map(|t| match t {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => Some(g.stream()),
            _ => None,
        }) else {
            return;
        };
        let tokens: Vec<TokenTree> = arms.into_iter().collect();
        let mut enums = BTreeSet::new();
        let mut wildcard = false;
        let mut at = 0;
        while at < tokens.len() {
            let start = at;
            while at < tokens.len() && !is_arrow(&tokens, at) {
                at += 1;
            }
            let pattern = &tokens[start..at];
            let guard = pattern
                .iter()
                .position(|t| matches!(t, TokenTree::Ident(i) if i == "if"));
            let bare = &pattern[..guard.unwrap_or(pattern.len())];
            if guard.is_none() && is_catch_all(bare) {
                wildcard = true;
            }
            for (i, token) in bare.iter().enumerate() {
                if let TokenTree::Ident(name) = token
                    && is_path_sep(bare, i + 1)
                    && is_upper(&name.to_string())
                    && !is_path_sep(bare, i + 3)
                {
                    enums.insert(name.to_string());
                }
            }
            at += 2;
            // The arm's body: a block (and an optional comma) or an expression up to a comma.
            if let Some(TokenTree::Group(g)) = tokens.get(at)
                && g.delimiter() == Delimiter::Brace
            {
                at += 1;
                if is_punct(tokens.get(at), ',') {
                    at += 1;
                }
            } else {
                while at < tokens.len() && !is_punct(tokens.get(at), ',') {
                    at += 1;
                }
                at += 1;
            }
        }
        if !wildcard {
            self.matches.extend(enums);
        }
    }
}

fn is_upper(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
}

fn is_punct(token: Option<&TokenTree>, c: char) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

/// `::` at `at`.
fn is_path_sep(tokens: &[TokenTree], at: usize) -> bool {
    matches!(tokens.get(at), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == Spacing::Joint)
        && is_punct(tokens.get(at + 1), ':')
}

/// `=>` at `at`.
fn is_arrow(tokens: &[TokenTree], at: usize) -> bool {
    matches!(tokens.get(at), Some(TokenTree::Punct(p)) if p.as_char() == '=' && p.spacing() == Spacing::Joint)
        && is_punct(tokens.get(at + 1), '>')
}

/// `_` or a lone binding (`other`): an arm every value reaches.
fn is_catch_all(pattern: &[TokenTree]) -> bool {
    match pattern {
        [TokenTree::Ident(name)] => {
            let name = name.to_string();
            name == "_" || !is_upper(&name)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_shows_what_it_uses() {
        let text = r#"
            use crate::types;
            fn f(c: &Client, e: types::Envelope) -> types::Out {
                let call = c.api().get_schema().schema_id("x");
                let r = types::Req { name: n, kind };
                let p = types::Partial { name, ..Default::default() };
                match e.error {
                    types::EnvelopeError::Detail(d) => d.message,
                    types::EnvelopeError::Text(t) => { t }
                }
                match k { types::Kind::A => 1, _ => 2 }
                r.size
            }
        "#;
        let uses = Uses::scan("f.rs", text).unwrap();
        assert!(uses.calls.contains("get_schema") && uses.calls.contains("schema_id"));
        assert!(uses.fields.contains("size") && uses.fields.contains("error"));
        assert!(uses.types.contains("Envelope") && uses.types.contains("Out"));
        assert!(uses.literals.contains("Req"));
        assert!(!uses.literals.contains("Partial"), "it has `..`");
        assert!(
            !uses.literals.contains("Out"),
            "a return type, not a literal"
        );
        assert!(uses.literal_fields.contains(&("Req".into(), "kind".into())));
        assert!(uses.matches.contains("EnvelopeError"));
        assert!(!uses.matches.contains("Kind"), "the match has a wildcard");
        assert!(
            uses.variants
                .contains(&("EnvelopeError".into(), "Text".into()))
        );
    }
}
