//! The public API of a generated client file, read with `syn`: the `Client`'s methods, each
//! operation builder's setters (with the type each takes) and `send`, the named types with their
//! public fields, enum variants and trait implementations (derived or written out).
//!
//! Everything is keyed by the name a reader looks for: `Client::get_schema`,
//! `GetSchema::schema_id`, `types::FileRecord::size`, `impl Copy for types::FileStatus`.
//! The builders of the named types (`types::builder::*`) are left out: they gain and lose setters
//! exactly as their types gain and lose fields, which the fields already say.

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A method of the generated `Client` (one per operation).
    Method,
    /// An operation's builder (`builder::GetSchema`), which holds setters and `send`.
    Builder,
    /// A setter of an operation's builder.
    Setter,
    /// The `send` of an operation's builder: its signature is the answer's type.
    Send,
    /// A named type (`types::X`): struct or enum.
    Type,
    /// A public field of a struct.
    Field,
    /// A variant of an enum.
    Variant,
    /// A trait implementation of a named type.
    Impl,
}

/// One public item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What it is.
    pub kind: Kind,
    /// Its signature, compact: a field's or setter's type, a type's kind, a method's answer.
    pub sig: String,
    /// The key of the item it belongs to (a setter's builder, a field's type).
    pub parent: Option<String>,
    /// A setter whose value `send` needs (its builder starts without one).
    pub required: bool,
    /// A struct whose fields are all public (users may build it with a literal), or an enum
    /// without `#[non_exhaustive]` (users may `match` it without a wildcard).
    pub closed: bool,
    /// The named types its signature mentions.
    pub mentions: BTreeSet<String>,
}

/// The public API of one generated file.
#[derive(Debug, Default, Clone)]
pub struct Api {
    /// Every item by key.
    pub items: BTreeMap<String, Item>,
}

impl Api {
    /// Reads the generated `code`.
    pub fn of(code: &str) -> Result<Api, String> {
        let file: syn::File = syn::parse_str(code)
            .map_err(|e| format!("the generated client does not parse: {e}"))?;
        let mut api = Api::default();
        for item in &file.items {
            match item {
                syn::Item::Mod(module) if module.ident == "types" => {
                    api.types(module_items(module));
                }
                syn::Item::Mod(module) if module.ident == "builder" => {
                    api.builders(module_items(module));
                }
                syn::Item::Impl(block)
                    if block.trait_.is_none() && is_named(&block.self_ty, "Client") =>
                {
                    api.client_methods(block);
                }
                _ => {}
            }
        }
        Ok(api)
    }

    /// The names of the types `types::X` this API has.
    pub fn type_names(&self) -> BTreeSet<String> {
        self.items
            .iter()
            .filter(|(_, item)| item.kind == Kind::Type)
            .filter_map(|(key, _)| key.strip_prefix("types::").map(str::to_owned))
            .collect()
    }

    /// The named types an operation's builder reaches: through its setters and its answer,
    /// then through the fields and variants of those types.
    pub fn reach(&self, builder: &str) -> BTreeSet<String> {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = self
            .items
            .get(builder)
            .map(|b| b.mentions.iter().cloned().collect())
            .unwrap_or_default();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let key = format!("types::{name}");
            for item in self.items.values() {
                if item.parent.as_deref() == Some(key.as_str()) {
                    todo.extend(item.mentions.iter().cloned());
                }
            }
        }
        seen.retain(|name| self.items.contains_key(&format!("types::{name}")));
        seen
    }

    fn add(&mut self, key: String, item: Item) {
        self.items.insert(key, item);
    }

    fn types(&mut self, items: &[syn::Item]) {
        for item in items {
            match item {
                syn::Item::Struct(s) if is_pub(&s.vis) => self.named_struct(s),
                syn::Item::Enum(e) if is_pub(&e.vis) => self.named_enum(e),
                syn::Item::Impl(block) => {
                    if let Some((path, _)) = &block.trait_ {
                        let ty = compact(&block.self_ty);
                        let parent = Some(format!("types::{ty}"));
                        let key = format!("impl {} for types::{ty}", compact(path));
                        self.add(key, leaf(Kind::Impl, String::new(), parent));
                    }
                }
                _ => {}
            }
        }
    }

    fn named_struct(&mut self, s: &syn::ItemStruct) {
        let key = format!("types::{}", s.ident);
        let fields: Vec<&syn::Field> = match &s.fields {
            syn::Fields::Named(named) => named.named.iter().collect(),
            syn::Fields::Unnamed(unnamed) => unnamed.unnamed.iter().collect(),
            syn::Fields::Unit => Vec::new(),
        };
        let shape = match &s.fields {
            syn::Fields::Named(_) => "struct",
            syn::Fields::Unnamed(_) => "tuple struct",
            syn::Fields::Unit => "unit struct",
        };
        let all_pub = fields.iter().all(|f| is_pub(&f.vis));
        let closed = all_pub && !has_attr(&s.attrs, "#[non_exhaustive]");
        for (at, field) in fields.iter().enumerate() {
            if !is_pub(&field.vis) {
                continue;
            }
            let name = field
                .ident
                .as_ref()
                .map_or_else(|| at.to_string(), ToString::to_string);
            let ty = compact(&field.ty);
            let mut item = leaf(Kind::Field, ty, Some(key.clone()));
            item.mentions = mentions(&field.ty);
            self.add(format!("{key}::{name}"), item);
        }
        self.derives(&key, &s.attrs);
        let mut item = leaf(Kind::Type, shape.into(), None);
        item.closed = closed;
        self.add(key, item);
    }

    fn named_enum(&mut self, e: &syn::ItemEnum) {
        let key = format!("types::{}", e.ident);
        for variant in &e.variants {
            let payload = variant.fields.to_token_stream();
            let mut item = leaf(
                Kind::Variant,
                shorten(&payload.to_string()),
                Some(key.clone()),
            );
            item.mentions = mentions(&variant.fields);
            self.add(format!("{key}::{}", variant.ident), item);
        }
        self.derives(&key, &e.attrs);
        let mut item = leaf(Kind::Type, "enum".into(), None);
        item.closed = !has_attr(&e.attrs, "#[non_exhaustive]");
        self.add(key, item);
    }

    /// `#[derive(A, B)]` as `impl A for key` items.
    fn derives(&mut self, key: &str, attrs: &[syn::Attribute]) {
        for attr in attrs {
            let text = compact(attr);
            let Some(inner) = text
                .strip_prefix("#[derive(")
                .and_then(|t| t.strip_suffix(")]"))
            else {
                continue;
            };
            for name in inner.split(',').filter(|n| !n.is_empty()) {
                // `serde::Deserialize` derives `Deserialize<'de>`: the name is what users see.
                let key = format!("impl {name} for {key}");
                self.add(
                    key.clone(),
                    leaf(Kind::Impl, String::new(), Some(key_of(&key))),
                );
            }
        }
    }

    fn builders(&mut self, items: &[syn::Item]) {
        let mut required: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
        for item in items {
            if let syn::Item::Struct(s) = item
                && is_pub(&s.vis)
            {
                let fields = required.entry(s.ident.to_string()).or_default();
                let mut item = leaf(Kind::Builder, String::new(), None);
                if let syn::Fields::Named(named) = &s.fields {
                    for field in &named.named {
                        let Some(name) = &field.ident else { continue };
                        let ty = compact(&field.ty);
                        // `Result<Option<T>, String>` starts as `Ok(None)`; `Result<T, String>`
                        // starts as an error that `send` returns until the setter is called.
                        fields.insert(name.to_string(), !ty.starts_with("Result<Option<"));
                        item.mentions.extend(mentions(&field.ty));
                    }
                }
                self.add(s.ident.to_string(), item);
            }
        }
        for item in items {
            let syn::Item::Impl(block) = item else {
                continue;
            };
            if block.trait_.is_some() {
                continue;
            }
            let builder = type_name(&block.self_ty);
            for member in &block.items {
                let syn::ImplItem::Fn(function) = member else {
                    continue;
                };
                let name = function.sig.ident.to_string();
                if !is_pub(&function.vis) || name == "new" {
                    continue;
                }
                let key = format!("{builder}::{name}");
                let parent = Some(builder.clone());
                let item = if name == "send" {
                    let mut item = leaf(Kind::Send, output(&function.sig), parent);
                    item.mentions = mentions(&function.sig.output);
                    if let Some(b) = self.items.get_mut(&builder) {
                        b.mentions.extend(item.mentions.iter().cloned());
                    }
                    item
                } else {
                    let mut item = leaf(Kind::Setter, setter_type(&function.sig), parent);
                    item.mentions = mentions(&function.sig);
                    item.required = required
                        .get(&builder)
                        .and_then(|fields| fields.get(&name))
                        .copied()
                        .unwrap_or(false);
                    item
                };
                self.add(key, item);
            }
        }
    }

    fn client_methods(&mut self, block: &syn::ItemImpl) {
        for member in &block.items {
            let syn::ImplItem::Fn(function) = member else {
                continue;
            };
            if !is_pub(&function.vis) {
                continue;
            }
            let key = format!("Client::{}", function.sig.ident);
            self.add(key, leaf(Kind::Method, output(&function.sig), None));
        }
    }
}

fn leaf(kind: Kind, sig: String, parent: Option<String>) -> Item {
    Item {
        kind,
        sig,
        parent,
        required: false,
        closed: false,
        mentions: BTreeSet::new(),
    }
}

/// `types::X` of `impl T for types::X`.
fn key_of(impl_key: &str) -> String {
    impl_key
        .rsplit_once(" for ")
        .map_or_else(String::new, |(_, ty)| ty.to_owned())
}

fn module_items(module: &syn::ItemMod) -> &[syn::Item] {
    module
        .content
        .as_ref()
        .map_or(&[][..], |(_, items)| items.as_slice())
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn has_attr(attrs: &[syn::Attribute], text: &str) -> bool {
    attrs.iter().any(|a| compact(a) == text)
}

fn is_named(ty: &syn::Type, name: &str) -> bool {
    type_name(ty) == name
}

/// The last segment of a path type, without generics: `GetSchema` of `GetSchema<'a>`.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        other => compact(other),
    }
}

/// A function's answer, compact (`()` when it has none).
fn output(sig: &syn::Signature) -> String {
    match &sig.output {
        syn::ReturnType::Default => "()".into(),
        syn::ReturnType::Type(_, ty) => compact(ty),
    }
}

/// What a setter takes: `T` of its `V: TryInto<T>` bound, or its whole signature otherwise
/// (`body_map` takes a closure).
fn setter_type(sig: &syn::Signature) -> String {
    let bounds = compact(&sig.generics.where_clause);
    if let Some(start) = bounds.find("TryInto<") {
        let rest = &bounds[start + "TryInto<".len()..];
        let mut depth = 0usize;
        for (at, c) in rest.char_indices() {
            match c {
                '<' => depth += 1,
                '>' if depth == 0 => return rest[..at].to_owned(),
                '>' => depth -= 1,
                _ => {}
            }
        }
    }
    let inputs: Vec<String> = sig.inputs.iter().skip(1).map(compact).collect();
    format!("({}) {}", inputs.join(", "), bounds)
}

/// Tokens without spaces, each path shortened to its last segment
/// (`::std::option::Option<::std::string::String>` reads `Option<String>`).
pub fn compact(tokens: &impl ToTokens) -> String {
    shorten(&tokens.to_token_stream().to_string())
}

fn shorten(text: &str) -> String {
    let spaced: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = String::with_capacity(spaced.len());
    let mut chunk = String::new();
    let flush = |chunk: &mut String, out: &mut String| {
        let last = chunk.rsplit("::").next().unwrap_or_default();
        // `Self::X` and `super::X` read as `X`; a leading `::` is dropped with its crate.
        out.push_str(if last.is_empty() {
            chunk.as_str()
        } else {
            last
        });
        chunk.clear();
    };
    for c in spaced.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            chunk.push(c);
        } else {
            flush(&mut chunk, &mut out);
            out.push(c);
        }
    }
    flush(&mut chunk, &mut out);
    out
}

/// The identifiers in `tokens` that may name types (they start upper case); callers keep those
/// that are named types of the file.
fn mentions(tokens: &impl ToTokens) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    collect_idents(tokens.to_token_stream(), &mut names);
    names
}

fn collect_idents(stream: proc_macro2::TokenStream, out: &mut BTreeSet<String>) {
    for tree in stream {
        match tree {
            proc_macro2::TokenTree::Ident(ident) => {
                let name = ident.to_string();
                if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                    out.insert(name);
                }
            }
            proc_macro2::TokenTree::Group(group) => collect_idents(group.stream(), out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_their_last_segment() {
        assert_eq!(
            shorten(":: std :: option :: Option < :: std :: string :: String >"),
            "Option<String>"
        );
        assert_eq!(shorten("super :: types :: FileStatus"), "FileStatus");
    }

    #[test]
    fn a_small_client_has_its_items() {
        let code = r#"
            pub mod types {
                #[derive(Clone, Debug)]
                pub struct Rec { pub id: ::std::string::String, pub size: Option<i64> }
                #[derive(Clone, Copy)]
                pub enum Status { A, B }
                pub struct Name(::std::string::String);
                impl ::std::default::Default for Rec { fn default() -> Self { todo!() } }
            }
            pub struct Client;
            impl Client {
                pub fn get_rec(&self) -> builder::GetRec<'_> { todo!() }
            }
            pub mod builder {
                pub struct GetRec<'a> {
                    client: &'a super::Client,
                    id: Result<::std::string::String, String>,
                    page: Result<Option<u64>, String>,
                }
                impl<'a> GetRec<'a> {
                    pub fn new(client: &'a super::Client) -> Self { todo!() }
                    pub fn id<V>(mut self, value: V) -> Self where V: std::convert::TryInto<::std::string::String> { self }
                    pub fn page<V>(mut self, value: V) -> Self where V: std::convert::TryInto<u64> { self }
                    pub async fn send(self) -> Result<ResponseValue<types::Rec>, Error<()>> { todo!() }
                }
            }
        "#;
        let api = Api::of(code).unwrap();
        let sig = |key: &str| api.items.get(key).map(|i| i.sig.clone());
        assert_eq!(sig("types::Rec::size").as_deref(), Some("Option<i64>"));
        assert_eq!(sig("GetRec::id").as_deref(), Some("String"));
        assert!(api.items["GetRec::id"].required);
        assert!(!api.items["GetRec::page"].required);
        assert!(api.items["types::Rec"].closed);
        assert!(!api.items["types::Name"].closed, "its field is private");
        assert!(api.items.contains_key("types::Status::B"));
        assert!(api.items.contains_key("impl Copy for types::Status"));
        assert!(api.items.contains_key("impl Default for types::Rec"));
        assert!(api.items.contains_key("Client::get_rec"));
        assert!(!api.items.contains_key("GetRec::new"));
        assert_eq!(api.reach("GetRec").into_iter().collect::<Vec<_>>(), ["Rec"]);
    }
}
