//! Rules files: what a dataset must satisfy, and the verdict they give.
//!
//! A rules file is JSON (schema: `www/rules.schema.json`, example:
//! `www/samples/rules.example.json`):
//!
//! ```json
//! {"defaults": true,
//!  "rules": [
//!    {"rule": "required_columns", "columns": {"age": "integer", "email": "any"}, "severity": "error"},
//!    {"rule": "row_count", "min": 100, "max": 1000000, "severity": "error"},
//!    {"rule": "max_missing_share", "column": "age", "max": 0.1, "severity": "warning"},
//!    {"rule": "allowed_values", "column": "label", "values": ["cat", "dog"], "severity": "error"},
//!    {"rule": "max_drift", "column": "age", "max": 0.2, "severity": "warning"}
//!  ]}
//! ```
//!
//! Every rule is evaluated to a [`RuleOutcome`] with the measured value, the
//! limit, whether it held and why. The default rules (`checks::verdict`)
//! apply too unless the file says `"defaults": false`; a file rule of the
//! kind that replaces a default rule (`DefaultOutcome::replaced_by`), on the
//! whole file (no `column`), takes that default rule's place.
//!
//! Choices a reader may look for:
//! - `min_class_share` without a label column (none chosen, none detected)
//!   fails, saying so: the file asked for a check that could not be made.
//! - `max_drift` compares two files: in a single file's report it is listed
//!   as held, "not evaluated"; `preflight compare` evaluates it on the
//!   Kolmogorov-Smirnov statistic D of numeric and date columns and the
//!   Jensen-Shannon distance (base 2) of categorical ones, both in [0, 1]
//!   (no p-value is applied: the limit is on the size of the shift).
//! - A rule naming a column the file does not have fails with a message
//!   that names the column; it never stops the run.
//! - `allowed_values` counts every non-missing value of the column in the
//!   parsed table (exact counts, not the profile's top values), comparing
//!   the value as written: case-sensitive, not trimmed. Numbers and booleans
//!   in the file's list match their JSON text (`1`, `2.5`, `true`).

use crate::checks::verdict::{self, verdict_of};
use crate::error::{Error, ErrorKind, Result};
use crate::ingest::Table;
use crate::report::{ColumnType, Comparison, Report, RuleOutcome, Verdict};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// `RuleOutcome::source` of preflight's default rules.
pub const SOURCE_DEFAULT: &str = "default";

/// `RuleOutcome::source` of the rules of a rules file.
pub const SOURCE_FILE: &str = "rules file";

/// Every rule kind a rules file may hold (the schema's `rule` enum).
pub const RULE_KINDS: [&str; 8] = [
    "required_columns",
    "row_count",
    "max_missing_share",
    "max_duplicate_share",
    "min_class_share",
    "no_pii",
    "allowed_values",
    "max_drift",
];

/// The kinds of personal data `no_pii` may name (those `checks::pii` finds).
pub const PII_KINDS: [&str; 7] = ["email", "phone", "card", "iban", "ssn", "ipv4", "ipv6"];

/// The type names `required_columns` accepts: the report's column types,
/// plus `any`, `number` (integer or float) and `string` (categorical, text
/// or identifier).
pub const TYPE_NAMES: [&str; 12] = [
    "any",
    "number",
    "string",
    "integer",
    "float",
    "boolean",
    "datetime",
    "categorical",
    "text",
    "identifier",
    "vector",
    "empty",
];

/// Fields every rule may have besides its own.
const COMMON_FIELDS: [&str; 2] = ["rule", "severity"];

/// Fields of the top-level object.
const TOP_FIELDS: [&str; 4] = ["$schema", "description", "defaults", "rules"];

/// Disallowed values listed in an `allowed_values` message.
const VALUES_LISTED: usize = 5;

/// Characters of a quoted value in a message.
const VALUE_CHARS: usize = 60;

/// How bad a failed rule is: an error fails the verdict (CLI exit 1), a
/// warning is reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fails the verdict.
    Error,
    /// Reported, the verdict still passes.
    Warning,
}

impl Severity {
    /// "error" or "warning".
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The type a `required_columns` rule asks of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeSpec {
    /// Any type.
    Any,
    /// Integer or float.
    Number,
    /// Categorical, text or identifier.
    String,
    /// Exactly this type.
    Exactly(ColumnType),
}

impl TypeSpec {
    /// Parses one of [`TYPE_NAMES`].
    pub fn parse(name: &str) -> Option<TypeSpec> {
        Some(match name {
            "any" => TypeSpec::Any,
            "number" => TypeSpec::Number,
            "string" => TypeSpec::String,
            "integer" => TypeSpec::Exactly(ColumnType::Integer),
            "float" => TypeSpec::Exactly(ColumnType::Float),
            "boolean" => TypeSpec::Exactly(ColumnType::Boolean),
            "datetime" => TypeSpec::Exactly(ColumnType::Datetime),
            "categorical" => TypeSpec::Exactly(ColumnType::Categorical),
            "text" => TypeSpec::Exactly(ColumnType::Text),
            "identifier" => TypeSpec::Exactly(ColumnType::Identifier),
            "vector" => TypeSpec::Exactly(ColumnType::Vector),
            "empty" => TypeSpec::Exactly(ColumnType::Empty),
            _ => return None,
        })
    }

    /// Its name in a rules file.
    pub fn name(self) -> &'static str {
        match self {
            TypeSpec::Any => "any",
            TypeSpec::Number => "number",
            TypeSpec::String => "string",
            TypeSpec::Exactly(t) => t.name(),
        }
    }

    /// Whether a column of type `t` satisfies it.
    pub fn accepts(self, t: ColumnType) -> bool {
        match self {
            TypeSpec::Any => true,
            TypeSpec::Number => matches!(t, ColumnType::Integer | ColumnType::Float),
            TypeSpec::String => matches!(
                t,
                ColumnType::Categorical | ColumnType::Text | ColumnType::Identifier
            ),
            TypeSpec::Exactly(want) => want == t,
        }
    }
}

/// What one rule checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// These columns exist, each of its type.
    RequiredColumns {
        /// Column names and types, in file order.
        columns: Vec<(String, TypeSpec)>,
    },
    /// The number of data rows lies within bounds (at least one given).
    RowCount {
        /// Fewest rows allowed.
        min: Option<u64>,
        /// Most rows allowed.
        max: Option<u64>,
    },
    /// The share of missing values of a column (or of all cells) is at most `max`.
    MaxMissingShare {
        /// The column; `None`: all cells of the file.
        column: Option<String>,
        /// Largest share allowed, in [0, 1].
        max: f64,
    },
    /// Redundant exact duplicate rows / rows is at most `max`.
    MaxDuplicateShare {
        /// Largest share allowed, in [0, 1].
        max: f64,
    },
    /// Every class of the label column has at least this share of the
    /// labelled rows.
    MinClassShare {
        /// Smallest share allowed, in [0, 1].
        min: f64,
    },
    /// No value holds personal data of these kinds.
    NoPii {
        /// Kinds from [`PII_KINDS`]; `None`: every kind.
        kinds: Option<Vec<String>>,
    },
    /// Every non-missing value of a column is one of `values`.
    AllowedValues {
        /// The column.
        column: String,
        /// The values allowed, as written in the data.
        values: Vec<String>,
    },
    /// Drift between the reference and the candidate of a column (or of
    /// every shared column) is at most `max` (compare only).
    MaxDrift {
        /// The column; `None`: every shared column drift was computed for.
        column: Option<String>,
        /// Largest KS statistic or Jensen-Shannon distance allowed, in [0, 1].
        max: f64,
    },
}

impl Check {
    /// The rule's kind, one of [`RULE_KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            Check::RequiredColumns { .. } => "required_columns",
            Check::RowCount { .. } => "row_count",
            Check::MaxMissingShare { .. } => "max_missing_share",
            Check::MaxDuplicateShare { .. } => "max_duplicate_share",
            Check::MinClassShare { .. } => "min_class_share",
            Check::NoPii { .. } => "no_pii",
            Check::AllowedValues { .. } => "allowed_values",
            Check::MaxDrift { .. } => "max_drift",
        }
    }

    /// The column the rule is about, when it names one.
    pub fn column(&self) -> Option<&str> {
        match self {
            Check::MaxMissingShare { column, .. } | Check::MaxDrift { column, .. } => {
                column.as_deref()
            }
            Check::AllowedValues { column, .. } => Some(column),
            _ => None,
        }
    }
}

/// One rule of a rules file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// What it checks.
    pub check: Check,
    /// What its failure means.
    pub severity: Severity,
}

/// A parsed rules file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Whether the default rules apply too (those the file's rules do not
    /// replace).
    pub defaults: bool,
    /// The file's rules, in file order.
    pub rules: Vec<Rule>,
}

impl Default for RuleSet {
    /// No rules of its own: the default rules.
    fn default() -> RuleSet {
        RuleSet {
            defaults: true,
            rules: Vec::new(),
        }
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOption, message)
}

/// The JSON type of a value, for messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One rule object being read: says where a problem is.
struct RuleFields<'a> {
    file: &'a str,
    index: usize,
    kind: &'a str,
    object: &'a Map<String, Value>,
}

impl<'a> RuleFields<'a> {
    fn error(&self, field: &str, problem: impl std::fmt::Display) -> Error {
        invalid(format!(
            "{}: rules[{}] ({}): field {field:?}: {problem}",
            self.file, self.index, self.kind
        ))
    }

    /// Refuses fields other than `allowed` and the common ones.
    fn only(&self, allowed: &[&str]) -> Result<()> {
        for key in self.object.keys() {
            if !COMMON_FIELDS.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
                let mut fields: Vec<&str> = COMMON_FIELDS.to_vec();
                fields.extend_from_slice(allowed);
                return Err(self.error(
                    key,
                    format!("unknown field; {} takes {}", self.kind, fields.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field)
    }

    fn required(&self, field: &str) -> Result<&'a Value> {
        self.get(field)
            .ok_or_else(|| self.error(field, "missing (required)"))
    }

    /// A number in [0, 1].
    fn share(&self, field: &str) -> Result<f64> {
        let value = self.required(field)?;
        match value.as_f64() {
            Some(v) if (0.0..=1.0).contains(&v) => Ok(v),
            Some(v) => Err(self.error(field, format!("must be a share from 0 to 1, not {v}"))),
            None => Err(self.error(
                field,
                format!("must be a number from 0 to 1, not {}", json_type(value)),
            )),
        }
    }

    /// A whole number of at least 0, when present.
    fn count(&self, field: &str) -> Result<Option<u64>> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        // Through JavaScript every number is a float: 100 arrives as 100.0.
        match value.as_f64() {
            Some(v) if v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0 => {
                Ok(Some(v as u64))
            }
            Some(v) => Err(self.error(
                field,
                format!("must be a whole number of at least 0, not {v}"),
            )),
            None => Err(self.error(
                field,
                format!("must be a whole number, not {}", json_type(value)),
            )),
        }
    }

    /// A non-empty string, when present.
    fn column(&self, field: &str) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(Value::String(_)) => Err(self.error(field, "must name a column, not be empty")),
            Some(other) => Err(self.error(
                field,
                format!("must be a column name (a string), not {}", json_type(other)),
            )),
        }
    }

    /// A non-empty array.
    fn array(&self, field: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Array(items)) if !items.is_empty() => Ok(Some(items)),
            Some(Value::Array(_)) => Err(self.error(field, "must not be empty")),
            Some(other) => {
                Err(self.error(field, format!("must be an array, not {}", json_type(other))))
            }
        }
    }
}

/// A value of an `allowed_values` list as the data would write it.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => {
            // 1 and 1.0 (JavaScript has only the latter) both mean "1".
            match n.as_f64() {
                Some(v) if n.is_f64() && v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 => {
                    Some(format!("{}", v as i64))
                }
                _ => Some(n.to_string()),
            }
        }
        _ => None,
    }
}

impl RuleSet {
    /// Parses a rules file's text; `file_name` names it in errors, which say
    /// the line and column of a JSON syntax error, or the rule (its index in
    /// `rules`, from 0) and the field at fault.
    pub fn from_json(text: &str, file_name: &str) -> Result<RuleSet> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m)
                .to_string();
            invalid(format!(
                "{file_name}: line {}, column {}: not valid JSON: {message}",
                e.line(),
                e.column()
            ))
        })?;
        RuleSet::from_value(&value, file_name)
    }

    /// Reads a rules file already parsed as JSON (the page and the JS API
    /// pass a parsed object); `file_name` names it in errors.
    pub fn from_value(value: &Value, file_name: &str) -> Result<RuleSet> {
        let Value::Object(top) = value else {
            return Err(invalid(format!(
                "{file_name}: a rules file is an object {{\"rules\": [...]}}, not {}",
                json_type(value)
            )));
        };
        for key in top.keys() {
            if !TOP_FIELDS.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "{file_name}: unknown field {key:?} at the top level; a rules file takes {}",
                    TOP_FIELDS.join(", ")
                )));
            }
        }
        let defaults = match top.get("defaults") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(invalid(format!(
                    "{file_name}: field \"defaults\" must be true or false, not {}",
                    json_type(other)
                )))
            }
        };
        if let Some(d) = top.get("description").filter(|d| !d.is_string()) {
            return Err(invalid(format!(
                "{file_name}: field \"description\" must be a string, not {}",
                json_type(d)
            )));
        }
        let items = match top.get("rules") {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(invalid(format!(
                    "{file_name}: field \"rules\" must be an array, not {}",
                    json_type(other)
                )))
            }
            None => {
                return Err(invalid(format!(
                    "{file_name}: field \"rules\" is missing (an array of rules)"
                )))
            }
        };
        let rules = items
            .iter()
            .enumerate()
            .map(|(index, item)| parse_rule(file_name, index, item))
            .collect::<Result<_>>()?;
        Ok(RuleSet { defaults, rules })
    }

    /// The rules file as JSON, in the format [`RuleSet::from_value`] reads.
    pub fn to_value(&self) -> Value {
        let rules = self.rules.iter().map(rule_value).collect();
        serde_json::json!({"defaults": self.defaults, "rules": Value::Array(rules)})
    }

    /// Whether a default rule replaced by file rules of kind `kind` (on the
    /// whole file) applies.
    pub fn keeps_default(rules: Option<&RuleSet>, replaced_by: Option<&str>) -> bool {
        match rules {
            None => true,
            Some(set) => {
                set.defaults
                    && !replaced_by.is_some_and(|kind| {
                        set.rules
                            .iter()
                            .any(|r| r.check.kind() == kind && r.check.column().is_none())
                    })
            }
        }
    }

    /// Columns with a `max_drift` rule of their own (left out of the default
    /// `column_drift` rule of a comparison).
    pub fn drift_columns(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter_map(|r| match &r.check {
                Check::MaxDrift {
                    column: Some(c), ..
                } => Some(c.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn parse_rule(file: &str, index: usize, item: &Value) -> Result<Rule> {
    let Value::Object(object) = item else {
        return Err(invalid(format!(
            "{file}: rules[{index}]: a rule is an object, not {}",
            json_type(item)
        )));
    };
    let kind = match object.get("rule") {
        Some(Value::String(kind)) if RULE_KINDS.contains(&kind.as_str()) => kind.as_str(),
        Some(Value::String(kind)) => {
            return Err(invalid(format!(
                "{file}: rules[{index}]: field \"rule\": unknown rule {kind:?}; the rules are {}",
                RULE_KINDS.join(", ")
            )))
        }
        Some(other) => {
            return Err(invalid(format!(
                "{file}: rules[{index}]: field \"rule\" must be a rule name (a string), not {}",
                json_type(other)
            )))
        }
        None => {
            return Err(invalid(format!(
                "{file}: rules[{index}]: field \"rule\" is missing (one of {})",
                RULE_KINDS.join(", ")
            )))
        }
    };
    let f = RuleFields {
        file,
        index,
        kind,
        object,
    };
    let severity = match f.required("severity")? {
        Value::String(s) if s == "error" => Severity::Error,
        Value::String(s) if s == "warning" => Severity::Warning,
        other => {
            return Err(f.error(
                "severity",
                format!("must be \"error\" or \"warning\", not {other}"),
            ))
        }
    };
    let check = match kind {
        "required_columns" => {
            f.only(&["columns"])?;
            let columns = match f.required("columns")? {
                Value::Object(map) if !map.is_empty() => map,
                Value::Object(_) => return Err(f.error("columns", "must name at least one column")),
                other => {
                    return Err(f.error(
                        "columns",
                        format!(
                            "must be an object of column name to type, not {}",
                            json_type(other)
                        ),
                    ))
                }
            };
            let mut out = Vec::new();
            for (name, t) in columns {
                let spec = t.as_str().and_then(TypeSpec::parse).ok_or_else(|| {
                    f.error(
                        "columns",
                        format!(
                            "column {name:?}: type must be one of {}, not {t}",
                            TYPE_NAMES.join(", ")
                        ),
                    )
                })?;
                out.push((name.clone(), spec));
            }
            Check::RequiredColumns { columns: out }
        }
        "row_count" => {
            f.only(&["min", "max"])?;
            let (min, max) = (f.count("min")?, f.count("max")?);
            match (min, max) {
                (None, None) => return Err(f.error("min", "give min, max or both")),
                (Some(lo), Some(hi)) if lo > hi => {
                    return Err(f.error("max", format!("{hi} is below min {lo}")))
                }
                _ => {}
            }
            Check::RowCount { min, max }
        }
        "max_missing_share" => {
            f.only(&["column", "max"])?;
            Check::MaxMissingShare {
                column: f.column("column")?,
                max: f.share("max")?,
            }
        }
        "max_duplicate_share" => {
            f.only(&["max"])?;
            Check::MaxDuplicateShare {
                max: f.share("max")?,
            }
        }
        "min_class_share" => {
            f.only(&["min"])?;
            Check::MinClassShare {
                min: f.share("min")?,
            }
        }
        "no_pii" => {
            f.only(&["kinds"])?;
            let kinds = match f.array("kinds")? {
                None => None,
                Some(items) => {
                    let mut kinds = Vec::new();
                    for item in items {
                        match item.as_str() {
                            Some(k) if PII_KINDS.contains(&k) => kinds.push(k.to_string()),
                            _ => {
                                return Err(f.error(
                                    "kinds",
                                    format!(
                                        "{item} is not a kind of personal data; the kinds are {}",
                                        PII_KINDS.join(", ")
                                    ),
                                ))
                            }
                        }
                    }
                    Some(kinds)
                }
            };
            Check::NoPii { kinds }
        }
        "allowed_values" => {
            f.only(&["column", "values"])?;
            let column = f
                .column("column")?
                .ok_or_else(|| f.error("column", "missing (required)"))?;
            let items = f
                .array("values")?
                .ok_or_else(|| f.error("values", "missing (required)"))?;
            let values = items
                .iter()
                .map(|v| {
                    value_text(v).ok_or_else(|| {
                        f.error(
                            "values",
                            format!(
                                "{v} is not a value a cell can hold (a string, number or boolean)"
                            ),
                        )
                    })
                })
                .collect::<Result<_>>()?;
            Check::AllowedValues { column, values }
        }
        "max_drift" => {
            f.only(&["column", "max"])?;
            Check::MaxDrift {
                column: f.column("column")?,
                max: f.share("max")?,
            }
        }
        _ => unreachable!("the rule names were checked against RULE_KINDS"),
    };
    Ok(Rule { check, severity })
}

fn rule_value(rule: &Rule) -> Value {
    let mut object = Map::new();
    object.insert("rule".into(), rule.check.kind().into());
    match &rule.check {
        Check::RequiredColumns { columns } => {
            let map: Map<String, Value> = columns
                .iter()
                .map(|(n, t)| (n.clone(), Value::from(t.name())))
                .collect();
            object.insert("columns".into(), Value::Object(map));
        }
        Check::RowCount { min, max } => {
            if let Some(min) = min {
                object.insert("min".into(), (*min).into());
            }
            if let Some(max) = max {
                object.insert("max".into(), (*max).into());
            }
        }
        Check::MaxMissingShare { column, max } | Check::MaxDrift { column, max } => {
            if let Some(c) = column {
                object.insert("column".into(), c.clone().into());
            }
            object.insert("max".into(), (*max).into());
        }
        Check::MaxDuplicateShare { max } => {
            object.insert("max".into(), (*max).into());
        }
        Check::MinClassShare { min } => {
            object.insert("min".into(), (*min).into());
        }
        Check::NoPii { kinds } => {
            if let Some(k) = kinds {
                object.insert("kinds".into(), k.clone().into());
            }
        }
        Check::AllowedValues { column, values } => {
            object.insert("column".into(), column.clone().into());
            object.insert("values".into(), values.clone().into());
        }
    }
    object.insert("severity".into(), rule.severity.as_str().into());
    Value::Object(object)
}

impl serde::Serialize for RuleSet {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for RuleSet {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<RuleSet, D::Error> {
        let value = Value::deserialize(deserializer)?;
        RuleSet::from_value(&value, "rules").map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// A rules-file rule's outcome.
fn outcome(rule: &Rule, value: f64, limit: f64, passed: bool, message: String) -> RuleOutcome {
    RuleOutcome {
        rule: rule.check.kind().into(),
        severity: rule.severity.as_str().into(),
        value,
        limit,
        passed,
        message,
        column: rule.check.column().map(str::to_string),
        source: SOURCE_FILE.into(),
    }
}

/// Whether the PII scan found personal data in a column's values or its
/// name suggests it: rule messages then count its values without quoting
/// them (the report is masked after the verdict, but a free-text message
/// can only be masked where a value itself matches a pattern).
pub fn holds_personal_data(report: &Report, column: &str) -> bool {
    report.pii.columns.iter().any(|f| f.column == column)
        || report.pii.name_hints.iter().any(|h| h.column == column)
}

/// A value quoted in a message, cut to [`VALUE_CHARS`] characters.
fn quoted(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(VALUE_CHARS).collect();
    if chars.next().is_some() {
        format!("{:?}", format!("{head}…"))
    } else {
        format!("{head:?}")
    }
}

/// "column "x" is not in the file; its columns are: ..." (the first 20).
fn no_such_column(name: &str, columns: &[&str]) -> String {
    let listed: Vec<&str> = columns.iter().take(20).copied().collect();
    let more = if columns.len() > listed.len() {
        format!(" and {} more", columns.len() - listed.len())
    } else {
        String::new()
    };
    format!(
        "column {name:?} is not in the file; its columns are: {}{more}",
        listed.join(", ")
    )
}

fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

/// The verdict of one file: the default rules the rule set keeps (all of
/// them without one) and every rule of the set, evaluated on the report
/// (its `verdict` aside) and the parsed table it was made from.
pub fn profile_verdict(report: &Report, table: &Table, rules: Option<&RuleSet>) -> Verdict {
    profile_verdict_of(report, Values::Table(table), rules)
}

/// Where the rules that read values (`allowed_values`) find them.
#[derive(Clone, Copy)]
pub enum Values<'a> {
    /// Every row, in the parsed table.
    Table(&'a Table),
    /// A streamed run (`crate::stream`): `counts` gives a column's exact
    /// whole-file count of each value, `None` when the column has too many
    /// distinct values for exact counts; `sample` (the row sample) is read
    /// then.
    Streamed {
        /// The row sample.
        sample: &'a Table,
        /// Whole-file value counts of the column named.
        counts: &'a dyn Fn(&str) -> Option<Vec<(String, u64)>>,
    },
}

impl<'a> Values<'a> {
    fn table(&self) -> &'a Table {
        match *self {
            Values::Table(table) | Values::Streamed { sample: table, .. } => table,
        }
    }
}

/// [`profile_verdict`] with the values read from `values`.
pub fn profile_verdict_of(report: &Report, values: Values<'_>, rules: Option<&RuleSet>) -> Verdict {
    let mut outcomes: Vec<RuleOutcome> = verdict::default_outcomes(report)
        .into_iter()
        .filter(|d| RuleSet::keeps_default(rules, d.replaced_by))
        .map(|d| d.outcome)
        .collect();
    if let Some(set) = rules {
        outcomes.extend(set.rules.iter().map(|rule| evaluate_of(rule, report, values)));
    }
    verdict_of(outcomes)
}

/// Evaluates one rule on one file's report and table.
pub fn evaluate(rule: &Rule, report: &Report, table: &Table) -> RuleOutcome {
    evaluate_of(rule, report, Values::Table(table))
}

/// [`evaluate`] with the values read from `values`.
pub fn evaluate_of(rule: &Rule, report: &Report, table: Values<'_>) -> RuleOutcome {
    let column_names: Vec<&str> = report.columns.iter().map(|c| c.name.as_str()).collect();
    let find = |name: &str| report.columns.iter().find(|c| c.name == name);
    match &rule.check {
        Check::RequiredColumns { columns } => {
            let mut problems = Vec::new();
            for (name, spec) in columns {
                match find(name) {
                    None => problems.push(format!("{name:?} is missing")),
                    Some(c) if !spec.accepts(c.column_type) => {
                        problems.push(format!("{name:?} is {}, not {}", c.column_type.name(), spec.name()))
                    }
                    Some(_) => {}
                }
            }
            let message = if problems.is_empty() {
                let listed: Vec<String> = columns.iter().map(|(n, t)| format!("{n:?} ({})", t.name())).collect();
                format!("every required column is present with its type: {}", listed.join(", "))
            } else {
                format!("{} of {} required columns fail: {}", problems.len(), columns.len(), problems.join("; "))
            };
            outcome(rule, problems.len() as f64, 0.0, problems.is_empty(), message)
        }
        Check::RowCount { min, max } => {
            let rows = report.source.rows;
            let too_few = min.is_some_and(|m| rows < m);
            let too_many = max.is_some_and(|m| rows > m);
            let bounds = match (min, max) {
                (Some(lo), Some(hi)) => format!("from {lo} to {hi}"),
                (Some(lo), None) => format!("at least {lo}"),
                (None, Some(hi)) => format!("at most {hi}"),
                (None, None) => "any number".into(),
            };
            let limit = if too_many { max.unwrap_or(0) } else { min.or(*max).unwrap_or(0) };
            let verdict = if too_few {
                "too few"
            } else if too_many {
                "too many"
            } else {
                "within bounds"
            };
            let message = format!("{rows} data rows, {verdict} (allowed: {bounds})");
            outcome(rule, rows as f64, limit as f64, !too_few && !too_many, message)
        }
        Check::MaxMissingShare { column: Some(name), max } => match find(name) {
            None => outcome(rule, 0.0, *max, false, no_such_column(name, &column_names)),
            Some(c) => {
                let message = format!(
                    "{} of {} values of {name:?} are missing ({}; allowed: {})",
                    c.missing,
                    c.count + c.missing,
                    percent(c.missing_share),
                    percent(*max)
                );
                outcome(rule, c.missing_share, *max, c.missing_share <= *max, message)
            }
        },
        Check::MaxMissingShare { column: None, max } => {
            let (missing, cells) = verdict::missing_cells(report);
            let share = missing as f64 / cells.max(1) as f64;
            let message = format!("{missing} of {cells} cells are missing ({}; allowed: {})", percent(share), percent(*max));
            outcome(rule, share, *max, share <= *max, message)
        }
        Check::MaxDuplicateShare { max } => {
            let share = verdict::duplicate_share(report);
            let message = format!(
                "{} of {} rows are redundant exact duplicates ({}; allowed: {})",
                report.duplicates.exact.redundant_rows,
                report.source.rows,
                percent(share),
                percent(*max)
            );
            outcome(rule, share, *max, share <= *max, message)
        }
        Check::MinClassShare { min } => min_class_share(rule, report, *min),
        Check::NoPii { kinds } => {
            let wanted = |kind: &str| kinds.as_ref().is_none_or(|k| k.iter().any(|w| w == kind));
            let found: u64 = report.pii.columns.iter().filter(|f| wanted(&f.kind)).map(|f| f.count).sum();
            outcome(rule, found as f64, 0.0, found == 0, verdict::pii_message(report, kinds.as_deref()))
        }
        Check::AllowedValues { column, values } => {
            allowed_values(rule, table, column, values, &column_names, holds_personal_data(report, column))
        }
        Check::MaxDrift { max, .. } => outcome(
            rule,
            0.0,
            *max,
            true,
            "not evaluated: max_drift compares two files (preflight compare, the page's \"compare with…\")".into(),
        ),
    }
}

fn min_class_share(rule: &Rule, report: &Report, min: f64) -> RuleOutcome {
    let Some(b) = &report.class_balance else {
        return outcome(
            rule,
            0.0,
            min,
            false,
            "no label column was chosen or detected, so class shares could not be measured (choose one: --label, \
             the page's label column, options.label)"
                .into(),
        );
    };
    let mut result = outcome(rule, 0.0, min, false, String::new());
    result.column = Some(b.label_column.clone());
    // Classes of a label column holding personal data are named by rank only.
    let personal = holds_personal_data(report, &b.label_column);
    let rank = |class: &str| b.classes.iter().position(|c| c.class == class).unwrap_or(0) + 1;
    let name = |class: &str| {
        if personal {
            format!("class #{} (not quoted: personal data)", rank(class))
        } else {
            quoted(class)
        }
    };
    let Some(smallest) = b
        .classes
        .iter()
        .min_by(|x, y| x.share.total_cmp(&y.share).then(x.class.cmp(&y.class)))
    else {
        result.message = format!("the label column {:?} has no labelled row", b.label_column);
        return result;
    };
    let below: Vec<String> = b
        .classes
        .iter()
        .rev()
        .filter(|c| c.share < min)
        .take(10)
        .map(|c| {
            format!(
                "{} ({}, {} rows)",
                name(&c.class),
                percent(c.share),
                c.count
            )
        })
        .collect();
    let below_count = b.classes.iter().filter(|c| c.share < min).count();
    result.value = smallest.share;
    result.passed = below_count == 0;
    result.message = if below_count == 0 {
        format!(
            "every class of {:?} has at least {} of the labelled rows; the smallest, {}, has {} ({} rows)",
            b.label_column,
            percent(min),
            name(&smallest.class),
            percent(smallest.share),
            smallest.count
        )
    } else {
        let more = if below_count > below.len() {
            format!(" and {} more", below_count - below.len())
        } else {
            String::new()
        };
        format!(
            "{below_count} of {} classes of {:?} have less than {} of the labelled rows: {}{more}",
            b.classes.len(),
            b.label_column,
            percent(min),
            below.join(", ")
        )
    };
    result
}

fn allowed_values(
    rule: &Rule,
    source: Values<'_>,
    column: &str,
    values: &[String],
    names: &[&str],
    personal: bool,
) -> RuleOutcome {
    let table = source.table();
    let Some(index) = table.column_index(column) else {
        return outcome(rule, 0.0, 0.0, false, no_such_column(column, names));
    };
    let allowed: std::collections::HashSet<&str> = values.iter().map(String::as_str).collect();
    // Each disallowed value: how often, and the line of its first row (not
    // known from a streamed run's counts).
    let mut bad: HashMap<&str, (u64, Option<u64>)> = HashMap::new();
    let (mut checked, mut failed) = (0u64, 0u64);
    let counts = match source {
        Values::Streamed { counts, .. } => counts(column),
        Values::Table(_) => None,
    };
    let mut scope = String::new();
    match &counts {
        Some(counts) => {
            for (text, n) in counts {
                checked += n;
                if !allowed.contains(text.as_str()) {
                    failed += n;
                    bad.entry(text.as_str()).or_insert((0, None)).0 += n;
                }
            }
        }
        None => {
            for (row, cell) in table.columns[index].cells().enumerate() {
                if cell.is_missing() {
                    continue;
                }
                checked += 1;
                let text = cell.text();
                if !allowed.contains(text) {
                    failed += 1;
                    bad.entry(text).or_insert((0, Some(table.lines[row]))).0 += 1;
                }
            }
            if matches!(source, Values::Streamed { .. }) {
                scope = format!(
                    " (checked on a sample of {} rows: the column has too many distinct values to count them all)",
                    table.rows()
                );
            }
        }
    }
    let message = if failed == 0 {
        format!(
            "all {checked} non-missing values of {column:?}{scope} are allowed ({})",
            values
                .iter()
                .take(10)
                .map(|v| quoted(v))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        let mut listed: Vec<(&str, (u64, Option<u64>))> = bad.iter().map(|(v, c)| (*v, *c)).collect();
        listed.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)).then(a.0.cmp(b.0)));
        // Values of a column holding personal data are counted, not quoted.
        let shown: Vec<String> = listed
            .iter()
            .take(VALUES_LISTED)
            .enumerate()
            .map(|(i, (v, (count, line)))| {
                let value = if personal {
                    format!("value #{}", i + 1)
                } else {
                    quoted(v)
                };
                match line {
                    Some(line) => format!("{value} x{count} (first on line {line})"),
                    None => format!("{value} x{count}"),
                }
            })
            .collect();
        let more = if listed.len() > shown.len() {
            format!(
                "; {} more distinct values not allowed",
                listed.len() - shown.len()
            )
        } else {
            String::new()
        };
        format!(
            "{failed} of {checked} non-missing values of {column:?}{scope} are not allowed ({}): {}{more}{}",
            percent(failed as f64 / checked.max(1) as f64),
            shown.join(", "),
            if personal { " (values not quoted: the column holds personal data)" } else { "" }
        )
    };
    outcome(rule, failed as f64, 0.0, failed == 0, message)
}

/// The drift statistic `max_drift` reads from one column's drift entry:
/// the KS statistic D (numeric and date columns) or the Jensen-Shannon
/// distance (categorical), with its short name.
pub fn drift_statistic(drift: &crate::report::ColumnDrift) -> Option<(&'static str, f64)> {
    if drift.kind == "numeric" {
        drift.ks.map(|v| ("KS", v))
    } else {
        drift.js_distance.map(|v| ("JS", v))
    }
}

/// Evaluates the `max_drift` rules of a rule set on a comparison.
pub fn drift_outcomes(rules: &RuleSet, comparison: &Comparison) -> Vec<RuleOutcome> {
    rules
        .rules
        .iter()
        .filter_map(|rule| match &rule.check {
            Check::MaxDrift { column, max } => Some(match column {
                Some(name) => column_drift(rule, comparison, name, *max),
                None => any_column_drift(rule, comparison, *max),
            }),
            _ => None,
        })
        .collect()
}

fn column_drift(rule: &Rule, comparison: &Comparison, name: &str, max: f64) -> RuleOutcome {
    if let Some(d) = comparison.drift.iter().find(|d| d.column == name) {
        return match drift_statistic(d) {
            Some((stat, value)) => outcome(
                rule,
                value,
                max,
                value <= max,
                format!(
                    "{name:?} ({} column): {stat} {value:.4} (allowed: at most {max})",
                    d.kind
                ),
            ),
            None => outcome(
                rule,
                0.0,
                max,
                false,
                format!("{name:?}: no drift statistic was computed"),
            ),
        };
    }
    if let Some(x) = comparison
        .drift_not_computed
        .iter()
        .find(|x| x.column == name)
    {
        return outcome(
            rule,
            0.0,
            max,
            false,
            format!("drift of {name:?} was not computed: {}", x.reason),
        );
    }
    let s = &comparison.schema;
    let message = if s.removed.iter().any(|c| c == name) {
        format!(
            "column {name:?} is only in the reference {:?}, not in the candidate",
            comparison.reference
        )
    } else if s.added.iter().any(|c| c == name) {
        format!(
            "column {name:?} is only in the candidate {:?}, not in the reference",
            comparison.candidate
        )
    } else {
        format!("column {name:?} is in neither file")
    };
    outcome(rule, 0.0, max, false, message)
}

fn any_column_drift(rule: &Rule, comparison: &Comparison, max: f64) -> RuleOutcome {
    let mut measured: Vec<(&str, &'static str, f64)> = comparison
        .drift
        .iter()
        .filter_map(|d| drift_statistic(d).map(|(s, v)| (d.column.as_str(), s, v)))
        .collect();
    measured.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(b.0)));
    let not_computed = if comparison.drift_not_computed.is_empty() {
        String::new()
    } else {
        format!(
            "; {} shared columns without drift (see drift_not_computed)",
            comparison.drift_not_computed.len()
        )
    };
    let Some(&(worst, stat, value)) = measured.first() else {
        return outcome(
            rule,
            0.0,
            max,
            true,
            format!("no shared column had its drift computed{not_computed}"),
        );
    };
    let beyond: Vec<String> = measured
        .iter()
        .filter(|m| m.2 > max)
        .map(|(c, s, v)| format!("{c:?} ({s} {v:.4})"))
        .collect();
    let message = if beyond.is_empty() {
        format!(
            "{} columns compared, all within {max}; the most drifted is {worst:?} ({stat} {value:.4}){not_computed}",
            measured.len()
        )
    } else {
        let shown: Vec<&str> = beyond.iter().take(10).map(String::as_str).collect();
        let more = if beyond.len() > shown.len() {
            format!(" and {} more", beyond.len() - shown.len())
        } else {
            String::new()
        };
        format!(
            "{} of {} columns drifted beyond {max}: {}{more}{not_computed}",
            beyond.len(),
            measured.len(),
            shown.join(", ")
        )
    };
    outcome(rule, value, max, beyond.is_empty(), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        RuleSet::from_json(text, "r.json").unwrap_err().to_string()
    }

    #[test]
    fn the_contract_example_parses_and_round_trips() {
        let text = r#"{"defaults": true,
         "rules": [
           {"rule": "required_columns", "columns": {"age": "integer", "email": "any"}, "severity": "error"},
           {"rule": "row_count", "min": 100, "max": 1000000, "severity": "error"},
           {"rule": "max_missing_share", "column": "age", "max": 0.1, "severity": "warning"},
           {"rule": "max_missing_share", "max": 0.2, "severity": "warning"},
           {"rule": "max_duplicate_share", "max": 0.01, "severity": "error"},
           {"rule": "min_class_share", "min": 0.05, "severity": "warning"},
           {"rule": "no_pii", "kinds": ["email", "card"], "severity": "error"},
           {"rule": "allowed_values", "column": "label", "values": ["cat", "dog"], "severity": "error"},
           {"rule": "max_drift", "column": "age", "max": 0.2, "severity": "warning"}
         ]}"#;
        let set = RuleSet::from_json(text, "r.json").unwrap();
        assert!(set.defaults);
        assert_eq!(set.rules.len(), 9);
        assert_eq!(
            set.rules[0].check,
            Check::RequiredColumns {
                columns: vec![
                    ("age".into(), TypeSpec::Exactly(ColumnType::Integer)),
                    ("email".into(), TypeSpec::Any)
                ]
            }
        );
        assert_eq!(
            set.rules[1].check,
            Check::RowCount {
                min: Some(100),
                max: Some(1_000_000)
            }
        );
        assert_eq!(
            set.rules[3].check,
            Check::MaxMissingShare {
                column: None,
                max: 0.2
            }
        );
        assert_eq!(set.rules[6].severity, Severity::Error);
        assert_eq!(set.rules[8].severity, Severity::Warning);
        let kinds: Vec<&str> = set.rules.iter().map(|r| r.check.kind()).collect();
        for kind in RULE_KINDS {
            assert!(kinds.contains(&kind), "{kind} missing from the example");
        }
        let again = RuleSet::from_value(&set.to_value(), "again").unwrap();
        assert_eq!(again, set);
        let via_serde: RuleSet =
            serde_json::from_str(&serde_json::to_string(&set).unwrap()).unwrap();
        assert_eq!(via_serde, set);
    }

    #[test]
    fn errors_name_the_file_the_rule_and_the_field() {
        assert!(
            parse_err("{\"rules\": [}").starts_with("r.json: line 1, column 12: not valid JSON")
        );
        assert!(parse_err("[]").contains("r.json: a rules file is an object"));
        assert!(parse_err("{}").contains("field \"rules\" is missing"));
        assert!(parse_err(r#"{"rules": [], "default": true}"#)
            .contains("unknown field \"default\" at the top level"));
        assert!(parse_err(r#"{"rules": [], "defaults": "yes"}"#)
            .contains("\"defaults\" must be true or false"));
        let e = parse_err(
            r#"{"rules": [{"rule": "row_count", "min": 1, "severity": "error"}, {"rule": "max_missing_share", "colum": "a", "max": 0.1, "severity": "error"}]}"#,
        );
        assert_eq!(
            e,
            "r.json: rules[1] (max_missing_share): field \"colum\": unknown field; max_missing_share takes rule, \
             severity, column, max"
        );
        assert!(parse_err(r#"{"rules": [{"rule": "max_nulls", "severity": "error"}]}"#)
            .contains("rules[0]: field \"rule\": unknown rule \"max_nulls\"; the rules are required_columns"));
        assert!(parse_err(r#"{"rules": [{"severity": "error"}]}"#)
            .contains("rules[0]: field \"rule\" is missing"));
        assert!(
            parse_err(r#"{"rules": [{"rule": "max_duplicate_share", "max": 0.1}]}"#)
                .contains("rules[0] (max_duplicate_share): field \"severity\": missing (required)")
        );
        assert!(parse_err(
            r#"{"rules": [{"rule": "max_duplicate_share", "max": 0.1, "severity": "fatal"}]}"#
        )
        .contains("field \"severity\": must be \"error\" or \"warning\", not \"fatal\""));
        assert!(parse_err(
            r#"{"rules": [{"rule": "max_duplicate_share", "max": 5, "severity": "error"}]}"#
        )
        .contains("field \"max\": must be a share from 0 to 1, not 5"));
        assert!(
            parse_err(r#"{"rules": [{"rule": "max_duplicate_share", "severity": "error"}]}"#)
                .contains("field \"max\": missing (required)")
        );
        assert!(
            parse_err(r#"{"rules": [{"rule": "row_count", "severity": "error"}]}"#)
                .contains("give min, max or both")
        );
        assert!(parse_err(
            r#"{"rules": [{"rule": "row_count", "min": 10, "max": 5, "severity": "error"}]}"#
        )
        .contains("field \"max\": 5 is below min 10"));
        assert!(parse_err(
            r#"{"rules": [{"rule": "row_count", "min": 1.5, "severity": "error"}]}"#
        )
        .contains("field \"min\": must be a whole number of at least 0, not 1.5"));
        assert!(parse_err(r#"{"rules": [{"rule": "required_columns", "columns": {"a": "int"}, "severity": "error"}]}"#)
            .contains("field \"columns\": column \"a\": type must be one of any, number, string, integer"));
        assert!(parse_err(
            r#"{"rules": [{"rule": "no_pii", "kinds": ["mail"], "severity": "error"}]}"#
        )
        .contains("field \"kinds\": \"mail\" is not a kind of personal data"));
        assert!(parse_err(
            r#"{"rules": [{"rule": "allowed_values", "values": ["a"], "severity": "error"}]}"#
        )
        .contains("rules[0] (allowed_values): field \"column\": missing (required)"));
        assert!(parse_err(r#"{"rules": [{"rule": "allowed_values", "column": "a", "values": [], "severity": "error"}]}"#)
            .contains("field \"values\": must not be empty"));
        assert!(parse_err(r#"{"rules": [{"rule": "allowed_values", "column": "a", "values": [[1]], "severity": "error"}]}"#)
            .contains("field \"values\": [1] is not a value a cell can hold"));
    }

    #[test]
    fn numbers_from_javascript_read_like_numbers_from_a_file() {
        // serde-wasm-bindgen hands JavaScript numbers over as floats.
        let value = serde_json::json!({"rules": [
            {"rule": "row_count", "min": 10.0, "severity": "error"},
            {"rule": "allowed_values", "column": "n", "values": [1.0, 2.5, true, "x"], "severity": "warning"}
        ]});
        let set = RuleSet::from_value(&value, "options.rules").unwrap();
        assert_eq!(
            set.rules[0].check,
            Check::RowCount {
                min: Some(10),
                max: None
            }
        );
        assert_eq!(
            set.rules[1].check,
            Check::AllowedValues {
                column: "n".into(),
                values: vec!["1".into(), "2.5".into(), "true".into(), "x".into()]
            }
        );
    }

    #[test]
    fn type_specs_accept_what_they_say() {
        assert!(TypeSpec::parse("number")
            .unwrap()
            .accepts(ColumnType::Float));
        assert!(TypeSpec::parse("number")
            .unwrap()
            .accepts(ColumnType::Integer));
        assert!(!TypeSpec::parse("number")
            .unwrap()
            .accepts(ColumnType::Categorical));
        assert!(TypeSpec::parse("string")
            .unwrap()
            .accepts(ColumnType::Identifier));
        assert!(!TypeSpec::parse("string")
            .unwrap()
            .accepts(ColumnType::Boolean));
        assert!(TypeSpec::parse("any").unwrap().accepts(ColumnType::Empty));
        for name in TYPE_NAMES {
            assert_eq!(TypeSpec::parse(name).unwrap().name(), name);
        }
        // Every report type name is a rules type name.
        for t in [
            ColumnType::Integer,
            ColumnType::Vector,
            ColumnType::Empty,
            ColumnType::Datetime,
        ] {
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(
                TypeSpec::parse(json.as_str().unwrap()),
                Some(TypeSpec::Exactly(t))
            );
        }
    }

    #[test]
    fn keeps_default_follows_defaults_and_replacements() {
        let set = RuleSet::from_json(
            r#"{"rules": [{"rule": "max_missing_share", "column": "a", "max": 0.1, "severity": "error"},
                          {"rule": "max_duplicate_share", "max": 0.1, "severity": "error"}]}"#,
            "r.json",
        )
        .unwrap();
        assert!(RuleSet::keeps_default(None, Some("max_duplicate_share")));
        assert!(!RuleSet::keeps_default(
            Some(&set),
            Some("max_duplicate_share")
        ));
        // A rule on one column does not replace the default on the whole file.
        assert!(RuleSet::keeps_default(
            Some(&set),
            Some("max_missing_share")
        ));
        assert!(RuleSet::keeps_default(Some(&set), None));
        let only = RuleSet {
            defaults: false,
            ..set
        };
        assert!(!RuleSet::keeps_default(Some(&only), None));
    }
}
