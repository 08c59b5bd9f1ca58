//! How a `--config` file is laid over the embedded defaults: the one rule users can predict, as
//! the header of `default-config.toml` documents it.
//!
//! * Tables merge key by key: a file only needs the keys it changes.
//! * A plain value, including an array of plain values (`api.keys`, bucket bounds,
//!   `disconnect`), replaces the default value.
//! * An array of named tables (`engine.pairs`, `engine.exchanges`, `engine.strategies`) merges by
//!   `name`: an entry whose name is in the defaults changes that entry key by key (a `params`
//!   table whose `kind` differs replaces the default's `params` whole); a new name is appended;
//!   `remove = true` drops the default entry of that name; an empty array (`strategies = []`)
//!   clears the defaults.
//! * `replace_defaults = ["engine.strategies", ...]` at the top of the file takes those arrays
//!   from the file alone.
//!
//! The merge also records where every named entry came from ([`Provenance`]), so a validation
//! error about `engine.strategies[0]` can say that entry is a default the file did not mention.

use std::collections::BTreeMap;
use std::fmt;

use toml::{Table, Value};

/// The top-level key listing arrays the file replaces instead of merging.
pub const REPLACE_KEY: &str = "replace_defaults";
/// The entry key that drops a default entry of the same name.
const REMOVE_KEY: &str = "remove";

/// Where one named entry of the effective configuration came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The embedded default, untouched by the file.
    Default,
    /// The embedded default, with keys changed by the file.
    DefaultChangedByFile,
    /// The file alone.
    File,
}

/// The origin of every named entry, by array path (`engine.strategies`) and entry name.
#[derive(Clone, Debug, Default)]
pub struct Provenance {
    entries: BTreeMap<String, Vec<(String, Origin)>>,
}

impl Provenance {
    /// The name and origin of entry `index` of the array at `path`.
    pub fn entry(&self, path: &str, index: usize) -> Option<(&str, Origin)> {
        self.entries
            .get(path)
            .and_then(|v| v.get(index))
            .map(|(name, origin)| (name.as_str(), *origin))
    }

    /// For a validation error about `field` (e.g. `engine.strategies[0].exchange`), a sentence
    /// saying where that entry came from, when the field is inside a named entry.
    pub fn explain(&self, field: &str, file: &str) -> Option<String> {
        let (path, rest) = field.split_once('[')?;
        let index: usize = rest.split_once(']')?.0.parse().ok()?;
        let (name, origin) = self.entry(path, index)?;
        let noun = match path.rsplit('.').next().unwrap_or(path) {
            "strategies" => "strategy",
            "exchanges" => "exchange",
            "pairs" => "pair",
            other => other,
        };
        Some(match origin {
            Origin::Default => format!(
                "{path}[{index}] is the {noun} {name:?} of the embedded defaults, which {file} does \
                 not mention: change it with a [[{path}]] entry named {name:?}, drop it with \
                 `remove = true` in that entry, or take the whole list from the file with \
                 `{REPLACE_KEY} = [\"{path}\"]`"
            ),
            Origin::DefaultChangedByFile => format!(
                "{path}[{index}] is the {noun} {name:?} of the embedded defaults as changed by {file}"
            ),
            Origin::File => format!("{path}[{index}] is the {noun} {name:?} added by {file}"),
        })
    }
}

/// Why a file cannot be merged; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError(pub String);

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lays `file` over `defaults` by the rule above, and says where each named entry came from.
pub fn merge(defaults: &Table, mut file: Table) -> Result<(Table, Provenance), MergeError> {
    let replaced = match file.remove(REPLACE_KEY) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(MergeError(format!(
                    "{REPLACE_KEY}: expected array paths as strings, found {other}"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => {
            return Err(MergeError(format!(
                "{REPLACE_KEY}: expected an array of paths such as [\"engine.strategies\"], found {other}"
            )))
        }
    };
    let mut merger = Merger {
        replaced,
        provenance: Provenance::default(),
    };
    for path in &merger.replaced {
        if !matches!(lookup(defaults, path), Some(v) if is_named_array(v)) {
            return Err(MergeError(format!(
                "{REPLACE_KEY}: {path:?} is not an array of named tables of the defaults \
                 (those are engine.pairs, engine.exchanges and engine.strategies)"
            )));
        }
    }
    let mut merged = defaults.clone();
    merger.table("", &mut merged, file)?;
    merger.record_untouched("", &merged);
    Ok((merged, merger.provenance))
}

struct Merger {
    replaced: Vec<String>,
    provenance: Provenance,
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn lookup<'a>(table: &'a Table, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

fn entry_name(value: &Value) -> Option<&str> {
    value.as_table()?.get("name")?.as_str()
}

fn is_named_array(value: &Value) -> bool {
    matches!(value, Value::Array(items) if !items.is_empty() && items.iter().all(|v| entry_name(v).is_some()))
}

impl Merger {
    fn table(&mut self, prefix: &str, base: &mut Table, over: Table) -> Result<(), MergeError> {
        for (key, value) in over {
            let path = join(prefix, &key);
            match (base.get_mut(&key), value) {
                (Some(Value::Table(b)), Value::Table(o)) => {
                    let kind_differs =
                        matches!((b.get("kind"), o.get("kind")), (Some(x), Some(y)) if x != y);
                    if kind_differs {
                        base.insert(key, Value::Table(o));
                    } else {
                        self.table(&path, b, o)?;
                    }
                }
                (Some(b @ Value::Array(_)), Value::Array(o)) if is_named_array(b) => {
                    let defaults = b.as_array().map(Vec::as_slice).unwrap_or_default();
                    let merged = self.named_array(&path, defaults, o)?;
                    *b = Value::Array(merged);
                }
                (_, value) => {
                    base.insert(key, value);
                }
            }
        }
        Ok(())
    }

    fn named_array(
        &mut self,
        path: &str,
        base: &[Value],
        over: Vec<Value>,
    ) -> Result<Vec<Value>, MergeError> {
        // An explicitly empty list clears the defaults, like `replace_defaults` with no entries.
        let replace = over.is_empty() || self.replaced.iter().any(|p| p == path);
        let mut merged: Vec<(Value, Origin)> = if replace {
            Vec::new()
        } else {
            base.iter().map(|v| (v.clone(), Origin::Default)).collect()
        };
        for (i, item) in over.into_iter().enumerate() {
            let Value::Table(mut entry) = item else {
                return Err(MergeError(format!(
                    "{path}[{i}]: expected a table with a name"
                )));
            };
            let Some(name) = entry
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                return Err(MergeError(format!(
                    "{path}[{i}].name: required (entries of {path} merge with the defaults by name)"
                )));
            };
            let remove = match entry.remove(REMOVE_KEY) {
                None => false,
                Some(Value::Boolean(b)) => b,
                Some(other) => {
                    return Err(MergeError(format!(
                        "{path}[{i}].{REMOVE_KEY}: expected a boolean, found {other}"
                    )))
                }
            };
            let existing = merged
                .iter()
                .position(|(v, _)| entry_name(v) == Some(name.as_str()));
            match (existing, remove) {
                (Some(at), true) => {
                    merged.remove(at);
                }
                (None, true) => {
                    return Err(MergeError(format!(
                    "{path}[{i}]: `remove = true` but there is no entry named {name:?} to remove"
                )))
                }
                (Some(at), false) => {
                    let (Value::Table(base_entry), origin) = &mut merged[at] else {
                        return Err(MergeError(format!(
                            "{path}: the default entry {name:?} is not a table"
                        )));
                    };
                    if *origin == Origin::File {
                        return Err(MergeError(format!(
                            "{path}[{i}].name: {name:?} appears twice in the file"
                        )));
                    }
                    self.table(&format!("{path}[{i}]"), base_entry, entry)?;
                    *origin = Origin::DefaultChangedByFile;
                }
                (None, false) => merged.push((Value::Table(entry), Origin::File)),
            }
        }
        self.provenance.entries.insert(
            path.to_string(),
            merged
                .iter()
                .map(|(v, o)| (entry_name(v).unwrap_or_default().to_string(), *o))
                .collect(),
        );
        Ok(merged.into_iter().map(|(v, _)| v).collect())
    }

    /// Named arrays the file did not touch are all defaults.
    fn record_untouched(&mut self, prefix: &str, table: &Table) {
        for (key, value) in table {
            let path = join(prefix, &key.to_string());
            match value {
                Value::Table(t) => self.record_untouched(&path, t),
                Value::Array(items) if is_named_array(value) => {
                    self.provenance.entries.entry(path).or_insert_with(|| {
                        items
                            .iter()
                            .map(|v| {
                                (
                                    entry_name(v).unwrap_or_default().to_string(),
                                    Origin::Default,
                                )
                            })
                            .collect()
                    });
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    const DEFAULTS: &str = r#"
[engine]
seed = 1
[[engine.exchanges]]
name = "a"
fee_rate = 0.1
[[engine.exchanges]]
name = "b"
fee_rate = 0.2
[[engine.strategies]]
name = "s"
exchange = "a"
[engine.strategies.params]
kind = "x"
fast = 1
"#;

    fn names(merged: &Table, path: &str) -> Vec<String> {
        lookup(merged, path)
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|v| entry_name(v).unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_named_entry_changes_only_its_keys() {
        let (merged, provenance) = merge(
            &table(DEFAULTS),
            table("[[engine.exchanges]]\nname = \"b\"\nfee_rate = 0.3\n"),
        )
        .unwrap();
        assert_eq!(names(&merged, "engine.exchanges"), ["a", "b"]);
        let b = &lookup(&merged, "engine.exchanges")
            .unwrap()
            .as_array()
            .unwrap()[1];
        assert_eq!(b["fee_rate"].as_float(), Some(0.3));
        assert_eq!(
            provenance.entry("engine.exchanges", 0),
            Some(("a", Origin::Default))
        );
        assert_eq!(
            provenance.entry("engine.exchanges", 1),
            Some(("b", Origin::DefaultChangedByFile))
        );
        assert_eq!(
            provenance.entry("engine.strategies", 0),
            Some(("s", Origin::Default))
        );
    }

    #[test]
    fn new_names_append_remove_drops_and_empty_clears() {
        let (merged, provenance) = merge(
            &table(DEFAULTS),
            table("[[engine.exchanges]]\nname = \"a\"\nremove = true\n[[engine.exchanges]]\nname = \"c\"\n"),
        )
        .unwrap();
        assert_eq!(names(&merged, "engine.exchanges"), ["b", "c"]);
        assert_eq!(
            provenance.entry("engine.exchanges", 1),
            Some(("c", Origin::File))
        );
        let (merged, _) = merge(&table(DEFAULTS), table("[engine]\nstrategies = []\n")).unwrap();
        assert_eq!(
            lookup(&merged, "engine.strategies")
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn replace_defaults_takes_the_array_from_the_file() {
        let (merged, _) = merge(
            &table(DEFAULTS),
            table(
                "replace_defaults = [\"engine.exchanges\"]\n[[engine.exchanges]]\nname = \"c\"\n",
            ),
        )
        .unwrap();
        assert_eq!(names(&merged, "engine.exchanges"), ["c"]);
        let err = merge(
            &table(DEFAULTS),
            table("replace_defaults = [\"engine.seed\"]\n"),
        )
        .unwrap_err();
        assert!(err.0.contains("engine.seed"), "{err}");
    }

    #[test]
    fn a_params_table_of_another_kind_replaces_the_default_one() {
        let (merged, _) = merge(
            &table(DEFAULTS),
            table("[[engine.strategies]]\nname = \"s\"\n[engine.strategies.params]\nkind = \"y\"\nwindow = 3\n"),
        )
        .unwrap();
        let params = &lookup(&merged, "engine.strategies")
            .unwrap()
            .as_array()
            .unwrap()[0]["params"];
        assert!(params.get("fast").is_none(), "{params}");
        assert_eq!(params["window"].as_integer(), Some(3));
    }

    #[test]
    fn mistakes_name_the_entry() {
        let err = merge(
            &table(DEFAULTS),
            table("[[engine.exchanges]]\nfee_rate = 0.3\n"),
        )
        .unwrap_err();
        assert!(err.0.contains("engine.exchanges[0].name"), "{err}");
        let err = merge(
            &table(DEFAULTS),
            table("[[engine.exchanges]]\nname = \"zz\"\nremove = true\n"),
        )
        .unwrap_err();
        assert!(err.0.contains("\"zz\""), "{err}");
    }

    #[test]
    fn provenance_explains_a_default_entry() {
        let (_, provenance) = merge(&table(DEFAULTS), table("")).unwrap();
        let why = provenance
            .explain("engine.strategies[0].exchange", "my.toml")
            .unwrap();
        assert!(
            why.contains("\"s\"") && why.contains("embedded defaults") && why.contains("my.toml"),
            "{why}"
        );
        assert!(provenance.explain("engine.seed", "my.toml").is_none());
    }
}
