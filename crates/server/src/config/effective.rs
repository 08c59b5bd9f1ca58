//! `zigquant config --effective`: the configuration in force, printed in the commented form of
//! the embedded default file (its comments and layout, the effective values), secrets redacted.

use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table};

use super::{default_toml, Config, ConfigError};

/// What a secret prints as.
pub const REDACTED: &str = "<redacted>";

/// Renders `config`; `sources` says what it was made from (one line, for the header).
pub fn render(config: &Config, sources: &str) -> Result<String, ConfigError> {
    let cannot = |message: String| ConfigError::Parse {
        origin: "(effective configuration)".into(),
        message,
    };
    let mut value = toml::Value::try_from(config).map_err(|e| cannot(e.to_string()))?;
    redact(&mut value);
    let toml::Value::Table(effective) = value else {
        return Err(cannot("the configuration is not a table".into()));
    };
    let mut doc: DocumentMut = default_toml()
        .parse()
        .map_err(|e: toml_edit::TomlError| cannot(e.to_string()))?;
    apply(doc.as_table_mut(), &effective);
    if let Some(server) = doc.get_mut("server").and_then(Item::as_table_mut) {
        let prefix = server
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("");
        let prefix = format!("\n{prefix}");
        server.decor_mut().set_prefix(prefix);
    }
    // This document lists every entry, removed defaults excepted: read back with --config it
    // must replace the default lists, not merge with them.
    let named_arrays: toml_edit::Array = ["engine.pairs", "engine.exchanges", "engine.strategies"]
        .into_iter()
        .collect();
    let mut first = toml_edit::Value::Array(named_arrays);
    first.decor_mut().set_prefix(" ");
    doc.as_table_mut()
        .insert(super::merge::REPLACE_KEY, Item::Value(first));
    if let Some(mut key) = doc.as_table_mut().key_mut(super::merge::REPLACE_KEY) {
        key.leaf_decor_mut().set_prefix(
            "# Every pair, exchange and strategy in force is listed below: used as a --config file,\n\
             # this document replaces the default lists instead of merging with them.\n",
        );
    }
    Ok(format!(
        "# zigquant effective configuration: {sources}.\n\
         # The values are the ones in force; the comments are the embedded defaults' documentation.\n\
         # Secrets print as \"{REDACTED}\": put real values back before using this file.\n\n{doc}"
    ))
}

fn redact(value: &mut toml::Value) {
    if let Some(keys) = value
        .get_mut("api")
        .and_then(|a| a.get_mut("keys"))
        .and_then(toml::Value::as_array_mut)
    {
        for key in keys {
            *key = toml::Value::String(REDACTED.into());
        }
    }
    if let Some(token) = value
        .get_mut("metrics")
        .and_then(|m| m.get_mut("bearer_token"))
    {
        *token = toml::Value::String(REDACTED.into());
    }
}

fn entry_name(table: &Table) -> Option<&str> {
    table.get("name")?.as_str()
}

/// Writes `effective` into `doc`, keeping the comments and order of what is already there.
fn apply(doc: &mut Table, effective: &toml::Table) {
    let stale: Vec<String> = doc
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !effective.contains_key(k))
        .collect();
    for key in stale {
        doc.remove(&key);
    }
    for (key, value) in effective {
        let slot = doc.get_mut(key);
        match (slot, value) {
            (Some(Item::Table(table)), toml::Value::Table(t)) => apply(table, t),
            (Some(item), toml::Value::Array(items)) if item.is_array_of_tables() => {
                if items.is_empty() {
                    // An empty list must print as `key = []`, or reading it back gives the defaults.
                    *item = Item::Value(toml_edit::Value::Array(toml_edit::Array::new()));
                    continue;
                }
                let old = item.as_array_of_tables().cloned().unwrap_or_default();
                let mut rebuilt = ArrayOfTables::new();
                for entry in items.iter().filter_map(toml::Value::as_table) {
                    let name = entry.get("name").and_then(toml::Value::as_str);
                    let mut table = old
                        .iter()
                        .find(|t| name.is_some() && entry_name(t) == name)
                        .cloned()
                        .unwrap_or_default();
                    apply(&mut table, entry);
                    rebuilt.push(table);
                }
                *item = Item::ArrayOfTables(rebuilt);
            }
            (Some(Item::Value(old)), value) => {
                let decor = old.decor().clone();
                *old = to_value(value);
                *old.decor_mut() = decor;
            }
            (_, value) => {
                doc.insert(key, to_item(value));
            }
        }
    }
}

fn to_item(value: &toml::Value) -> Item {
    match value {
        toml::Value::Table(t) => {
            let mut table = Table::new();
            apply(&mut table, t);
            Item::Table(table)
        }
        toml::Value::Array(items)
            if !items.is_empty() && items.iter().all(toml::Value::is_table) =>
        {
            let mut array = ArrayOfTables::new();
            for t in items.iter().filter_map(toml::Value::as_table) {
                let mut table = Table::new();
                apply(&mut table, t);
                array.push(table);
            }
            Item::ArrayOfTables(array)
        }
        other => Item::Value(to_value(other)),
    }
}

fn to_value(value: &toml::Value) -> toml_edit::Value {
    match value {
        toml::Value::String(s) => s.as_str().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(items) => toml_edit::Value::Array(items.iter().map(to_value).collect()),
        toml::Value::Table(t) => {
            let mut inline = InlineTable::new();
            for (k, v) in t {
                inline.insert(k, to_value(v));
            }
            toml_edit::Value::InlineTable(inline)
        }
    }
}
