//! The `##Value Name##` syntax: compiling a template into segments, and the
//! errors (with line, column and suggestions) when that fails.

use std::fmt;
use std::sync::OnceLock;

use crate::catalogue::{catalogue, ValueId};
use crate::render::{extra_present, is_present, push_literal, write_extra, write_value};
use crate::{Context, Mode};

/// A compiled template: literal text and value references, ready to render
/// any number of times.
///
/// ```
/// use notify_template::{locale, sample_result, Context, Mode, Template};
///
/// let template = Template::compile("##Task Name##: ##exit status##", &[]).unwrap();
/// let result = sample_result();
/// let ctx = Context::new(&result, locale("en").unwrap(), time::UtcOffset::UTC);
/// assert_eq!(
///     template.render_to_string(&ctx, Mode::Text),
///     "Daily Backup: Finished successfully"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// All literal text, unescaped, back to back; segments point into it.
    literals: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `literals[start..end]`.
    Literal { start: usize, end: usize },
    /// A catalogue value.
    Value(ValueId),
    /// An extra value, by its key as the caller spelt it.
    Extra(Box<str>),
    /// `##?Name##`: the value, or when it is absent, its whole line left
    /// out.
    Optional(Value),
    /// `##if Name##`: the segments up to the matching [`Segment::End`]
    /// (at index `end`) render only when the value is there.
    If { value: Value, end: usize },
    /// `##end##`.
    End,
}

/// A value a segment refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Catalogue(ValueId),
    Extra(Box<str>),
}

impl Value {
    fn present(&self, ctx: &Context<'_>) -> bool {
        match self {
            Value::Catalogue(id) => is_present(*id, ctx),
            Value::Extra(key) => extra_present(key, ctx),
        }
    }

    fn write(&self, ctx: &Context<'_>, mode: Mode, out: &mut String) {
        match self {
            Value::Catalogue(id) => write_value(*id, ctx, mode, out),
            Value::Extra(key) => write_extra(key, ctx, mode, out),
        }
    }
}

/// Where a line that an absent `##?Name##` leaves out starts in the output,
/// and whether the current line is to be left out.
struct Lines {
    start: usize,
    drop: bool,
}

impl Lines {
    /// Appends template text, leaving out each line marked to be dropped.
    fn literal(&mut self, out: &mut String, text: &str, mode: Mode) {
        if mode == Mode::Subject {
            push_literal(out, text, mode);
            return;
        }
        let mut rest = text;
        while let Some(nl) = rest.find('\n') {
            push_literal(out, &rest[..nl], mode);
            if self.drop {
                out.truncate(self.start);
                self.drop = false;
            } else {
                out.push('\n');
            }
            self.start = out.len();
            rest = &rest[nl + 1..];
        }
        push_literal(out, rest, mode);
    }

    /// Notes the line breaks a value wrote from `from` on.
    fn wrote(&mut self, out: &str, from: usize) {
        if let Some(nl) = out.get(from..).and_then(|s| s.rfind('\n')) {
            self.start = from + nl + 1;
        }
    }
}

impl Template {
    /// Compiles `source`. Catalogue names (in any locale) are always known;
    /// `extras` are the names of extra values (`--set KEY=VALUE`, the keys of
    /// `TaskResult::extra`) allowed in addition. Catalogue names take
    /// precedence over an extra of the same name.
    ///
    /// Names match ignoring case, spaces, `-` and `_`: `##task_name##`,
    /// `##TASK NAME##` and `##Backup-Name##` are all the task name. `\##`
    /// is a literal `##`; a lone `#` is literal, also right before or after a
    /// value (`###Ticket##` is `#` and the value). A backslash cannot be
    /// written right before a value (`\##` always means a literal `##`).
    ///
    /// # Errors
    /// An unknown name, a `##` without its closing `##` on the same line,
    /// or an empty name `####`; the error has the line and column of the
    /// opening `##` and, for an unknown name, up to three suggestions.
    pub fn compile(source: &str, extras: &[&str]) -> Result<Template, TemplateError> {
        let bytes = source.as_bytes();
        let mut literals = String::with_capacity(source.len());
        let mut segments = Vec::new();
        // The `##if##`s not yet closed: their segment index and position.
        let mut open: Vec<(usize, usize)> = Vec::new();
        // Start, in `literals`, of the literal segment being built.
        let mut segment_start = 0;
        // Start, in `source`, of literal text not yet copied to `literals`.
        let mut run_start = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if bytes[i + 1..].starts_with(b"##") => {
                    literals.push_str(&source[run_start..i]);
                    literals.push_str("##");
                    i += 3;
                    run_start = i;
                }
                // `###Name##`: a literal `#` right before a value.
                b'#' if bytes.get(i + 1) == Some(&b'#')
                    && bytes.get(i + 2) == Some(&b'#')
                    && bytes.get(i + 3) != Some(&b'#') =>
                {
                    i += 1;
                }
                b'#' if bytes.get(i + 1) == Some(&b'#') => {
                    literals.push_str(&source[run_start..i]);
                    if literals.len() > segment_start {
                        segments.push(Segment::Literal {
                            start: segment_start,
                            end: literals.len(),
                        });
                    }
                    let name_start = i + 2;
                    let mut j = name_start;
                    let close = loop {
                        match bytes.get(j) {
                            None | Some(b'\n' | b'\r') => break None,
                            Some(b'#') if bytes.get(j + 1) == Some(&b'#') => break Some(j),
                            Some(_) => j += 1,
                        }
                    };
                    let Some(close) = close else {
                        return Err(TemplateError::new(
                            TemplateErrorKind::Unclosed,
                            source,
                            i,
                            &source[name_start..j],
                            Vec::new(),
                        ));
                    };
                    let name = &source[name_start..close];
                    let at = name_start - 2;
                    i = close + 2;
                    match directive(name) {
                        Directive::Value(name) => segments.push(resolve(source, at, name, extras)?),
                        Directive::Optional(name) => {
                            let value = value_of(resolve(source, at, name, extras)?);
                            segments.push(Segment::Optional(value));
                        }
                        Directive::If(name) => {
                            let value = value_of(resolve(source, at, name, extras)?);
                            i = own_line(source, at, i, &mut literals, &mut segments);
                            open.push((segments.len(), at));
                            segments.push(Segment::If { value, end: 0 });
                        }
                        Directive::End => {
                            let Some((index, _)) = open.pop() else {
                                return Err(TemplateError::new(
                                    TemplateErrorKind::UnmatchedEnd,
                                    source,
                                    at,
                                    name,
                                    Vec::new(),
                                ));
                            };
                            i = own_line(source, at, i, &mut literals, &mut segments);
                            let end = segments.len();
                            if let Some(Segment::If { end: e, .. }) = segments.get_mut(index) {
                                *e = end;
                            }
                            segments.push(Segment::End);
                        }
                    }
                    segment_start = literals.len();
                    run_start = i;
                }
                _ => i += 1,
            }
        }
        if let Some(&(_, at)) = open.last() {
            return Err(TemplateError::new(
                TemplateErrorKind::UnclosedIf,
                source,
                at,
                "",
                Vec::new(),
            ));
        }
        literals.push_str(&source[run_start..]);
        if literals.len() > segment_start {
            segments.push(Segment::Literal {
                start: segment_start,
                end: literals.len(),
            });
        }
        Ok(Template { literals, segments })
    }

    /// A template of literal text only, with no escapes interpreted.
    pub(crate) fn literal(text: &str) -> Template {
        let segments = if text.is_empty() {
            Vec::new()
        } else {
            vec![Segment::Literal {
                start: 0,
                end: text.len(),
            }]
        };
        Template {
            literals: text.to_owned(),
            segments,
        }
    }

    /// Appends the rendering of this template for `ctx` to `out`.
    ///
    /// In [`Mode::Subject`] every control character (CR, LF, TAB, other C0
    /// and C1 controls, DEL, U+2028, U+2029) becomes a space; in
    /// [`Mode::Html`] values are HTML-escaped; in [`Mode::Text`] values are
    /// written as they are.
    ///
    /// An absent `##?Name##` leaves its whole line out (in a subject: only
    /// itself); `##if Name##` ... `##end##` renders what is between only
    /// when the value is there.
    pub fn render(&self, ctx: &Context<'_>, mode: Mode, out: &mut String) {
        let mut lines = Lines {
            start: out.len(),
            drop: false,
        };
        let mut k = 0;
        while let Some(segment) = self.segments.get(k) {
            k += 1;
            let from = out.len();
            match segment {
                Segment::Literal { start, end } => {
                    let text = self.literals.get(*start..*end).unwrap_or("");
                    lines.literal(out, text, mode);
                    continue;
                }
                Segment::Value(id) => write_value(*id, ctx, mode, out),
                Segment::Extra(key) => write_extra(key, ctx, mode, out),
                Segment::Optional(value) => {
                    if value.present(ctx) {
                        value.write(ctx, mode, out);
                    } else {
                        lines.drop = true;
                    }
                }
                Segment::If { value, end } => {
                    if !value.present(ctx) {
                        k = *end + 1;
                    }
                }
                Segment::End => {}
            }
            lines.wrote(out, from);
        }
        if lines.drop && mode != Mode::Subject {
            out.truncate(lines.start);
        }
    }

    /// Renders this template for `ctx` into a new string.
    pub fn render_to_string(&self, ctx: &Context<'_>, mode: Mode) -> String {
        let mut out = String::with_capacity(self.literals.len() + 64 * self.segments.len());
        self.render(ctx, mode, &mut out);
        out
    }

    /// The catalogue values this template uses, in order of appearance
    /// (repeats included).
    pub fn values(&self) -> impl Iterator<Item = ValueId> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Value(id)
            | Segment::Optional(Value::Catalogue(id))
            | Segment::If {
                value: Value::Catalogue(id),
                ..
            } => Some(*id),
            _ => None,
        })
    }

    /// The extra values this template uses, by the name given in `extras`,
    /// in order of appearance (repeats included).
    pub fn extras(&self) -> impl Iterator<Item = &str> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Extra(key)
            | Segment::Optional(Value::Extra(key))
            | Segment::If {
                value: Value::Extra(key),
                ..
            } => Some(&**key),
            _ => None,
        })
    }
}

/// Escapes literal text for use in a template: every `##` becomes `\##`, so
/// the template renders back to `text`.
pub fn escape(text: &str) -> String {
    text.replace("##", "\\##")
}

/// What a `##...##` says.
enum Directive<'a> {
    /// `##Name##`.
    Value(&'a str),
    /// `##?Name##`.
    Optional(&'a str),
    /// `##if Name##`.
    If(&'a str),
    /// `##end##`.
    End,
}

fn directive(name: &str) -> Directive<'_> {
    let trimmed = name.trim();
    if trimmed.eq_ignore_ascii_case("end") {
        return Directive::End;
    }
    if let Some(rest) = trimmed.strip_prefix('?') {
        return Directive::Optional(rest);
    }
    let head = trimmed.get(..3).unwrap_or_default();
    if head.eq_ignore_ascii_case("if ") || head.eq_ignore_ascii_case("if\t") {
        return Directive::If(&trimmed[3..]);
    }
    Directive::Value(name)
}

/// The value a resolved `##Name##` refers to.
fn value_of(segment: Segment) -> Value {
    match segment {
        Segment::Value(id) => Value::Catalogue(id),
        Segment::Extra(key) => Value::Extra(key),
        // `resolve` returns only the two above.
        _ => Value::Extra("".into()),
    }
}

/// When the block marker at `at..after` stands alone on its line (only
/// blanks around it), the whole line goes: the blanks before it are taken
/// off the literal text so far, and the position after its line end is
/// returned; otherwise `after`.
fn own_line(
    source: &str,
    at: usize,
    after: usize,
    literals: &mut String,
    segments: &mut Vec<Segment>,
) -> usize {
    let line_start = source[..at].rfind('\n').map_or(0, |p| p + 1);
    let before = &source[line_start..at];
    let line_end = source[after..]
        .find('\n')
        .map_or(source.len(), |p| after + p);
    let rest = &source[after..line_end];
    let blank = |s: &str| s.chars().all(|c| c == ' ' || c == '\t' || c == '\r');
    if !blank(before) || !blank(rest) {
        return after;
    }
    // The blanks before the marker are the tail of the last literal.
    if let Some(Segment::Literal { start, end }) = segments.last_mut() {
        let cut = (*end - *start).min(before.len());
        *end -= cut;
        literals.truncate(*end);
        if *end == *start {
            segments.pop();
        }
    }
    (line_end + 1).min(source.len())
}

/// Characters that do not count when names are compared.
fn is_insignificant(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

fn normalized(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars()
        .filter(|c| !is_insignificant(*c))
        .flat_map(char::to_lowercase)
}

/// Whether two value names are the same, ignoring case, whitespace, `-`
/// and `_`.
pub(crate) fn names_match(a: &str, b: &str) -> bool {
    normalized(a).eq(normalized(b))
}

/// Every name of every catalogue value, normalized, with its value.
fn known_names() -> &'static [(String, ValueId)] {
    static KNOWN: OnceLock<Vec<(String, ValueId)>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        catalogue()
            .iter()
            .flat_map(|info| {
                info.names()
                    .iter()
                    .map(|n| (normalized(n).collect(), info.id()))
            })
            .collect()
    })
}

fn resolve(source: &str, at: usize, name: &str, extras: &[&str]) -> Result<Segment, TemplateError> {
    let norm: String = normalized(name).collect();
    if norm.is_empty() {
        return Err(TemplateError::new(
            TemplateErrorKind::EmptyName,
            source,
            at,
            name,
            Vec::new(),
        ));
    }
    if let Some((_, id)) = known_names().iter().find(|(known, _)| *known == norm) {
        return Ok(Segment::Value(*id));
    }
    if let Some(extra) = extras.iter().find(|e| normalized(e).eq(norm.chars())) {
        return Ok(Segment::Extra((*extra).into()));
    }
    Err(TemplateError::new(
        TemplateErrorKind::UnknownValue,
        source,
        at,
        name,
        suggest(name, extras),
    ))
}

/// Up to three known names nearest to `name`: by edit distance on the
/// normalized names, or containing it. For each value the nearest of its
/// names is suggested, the English one on a tie.
fn suggest(name: &str, extras: &[&str]) -> Vec<String> {
    const MAX: usize = 3;
    let query: Vec<char> = normalized(name).take(64).collect();
    let mut found: Vec<(usize, &str)> = Vec::new();
    let mut candidates: Vec<(usize, &str)> = Vec::new();
    for info in catalogue() {
        let best = info
            .names()
            .iter()
            .filter_map(|n| closeness(&query, n).map(|d| (d, *n)))
            .min_by_key(|(d, _)| *d);
        candidates.extend(best);
    }
    for extra in extras {
        candidates.extend(closeness(&query, extra).map(|d| (d, *extra)));
    }
    candidates.sort_by_key(|(d, _)| *d);
    for (d, n) in candidates {
        if found.len() == MAX {
            break;
        }
        if !found.iter().any(|(_, f)| names_match(f, n)) {
            found.push((d, n));
        }
    }
    found.into_iter().map(|(_, n)| n.to_owned()).collect()
}

/// How far `candidate` is from `query` (edit distance of the normalized
/// names), or `None` when it is too far to be a plausible typo and does not
/// contain the query (nor the query it).
fn closeness(query: &[char], candidate: &str) -> Option<usize> {
    let cand: Vec<char> = normalized(candidate).take(64).collect();
    let distance = levenshtein(query, &cand);
    let limit = (query.len().max(cand.len()) / 3).max(1);
    let contains = |hay: &[char], needle: &[char]| {
        needle.len() >= 3 && hay.windows(needle.len()).any(|w| w == needle)
    };
    (distance <= limit || contains(&cand, query) || contains(query, &cand)).then_some(distance)
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// What is wrong with a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TemplateErrorKind {
    /// `##Name##` names no catalogue value and no extra value.
    UnknownValue,
    /// `##Name` without a closing `##` on the same line.
    Unclosed,
    /// `####`: a value without a name.
    EmptyName,
    /// `##end##` without an `##if Name##` before it.
    UnmatchedEnd,
    /// `##if Name##` without its `##end##`.
    UnclosedIf,
}

/// A template that does not compile: what, where (1-based line and column,
/// in characters, of the opening `##`), and the nearest known names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    kind: TemplateErrorKind,
    line: usize,
    column: usize,
    text: String,
    suggestions: Vec<String>,
}

/// Longest stretch of an unclosed value quoted in the message.
const QUOTE_MAX: usize = 40;

impl TemplateError {
    fn new(
        kind: TemplateErrorKind,
        source: &str,
        at: usize,
        text: &str,
        suggestions: Vec<String>,
    ) -> Self {
        let before = source.get(..at).unwrap_or(source);
        let line_start = before.rfind('\n').map_or(0, |p| p + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        let text = match kind {
            TemplateErrorKind::Unclosed => {
                let trimmed = text.trim_end();
                match trimmed.char_indices().nth(QUOTE_MAX) {
                    Some((cut, _)) => format!("{}…", &trimmed[..cut]),
                    None => trimmed.to_owned(),
                }
            }
            _ => text.to_owned(),
        };
        TemplateError {
            kind,
            line,
            column,
            text,
            suggestions,
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> TemplateErrorKind {
        self.kind
    }

    /// The line of the opening `##`, from 1.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column of the opening `##`, from 1, counted in characters.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The name as written (for an unclosed value: the rest of the line,
    /// shortened).
    pub fn name(&self) -> &str {
        &self.text
    }

    /// Up to three known names near the unknown one, as they should be
    /// written (English display names, or German when the typo is nearer
    /// to the German name, or extra names).
    pub fn suggestions(&self) -> &[String] {
        &self.suggestions
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: ", self.line, self.column)?;
        match self.kind {
            TemplateErrorKind::UnknownValue => {
                write!(f, "unknown value ##{}##", self.text)?;
                match self.suggestions.as_slice() {
                    [] => f.write_str(" (`notify template values` lists the known values)"),
                    [only] => write!(f, "; did you mean ##{only}##?"),
                    [init @ .., last] => {
                        f.write_str("; did you mean ")?;
                        for (k, s) in init.iter().enumerate() {
                            if k > 0 {
                                f.write_str(", ")?;
                            }
                            write!(f, "##{s}##")?;
                        }
                        write!(f, " or ##{last}##?")
                    }
                }
            }
            TemplateErrorKind::Unclosed => write!(
                f,
                "unclosed ##{} (a value ends with ##; write \\## for a literal ##)",
                self.text
            ),
            TemplateErrorKind::EmptyName => write!(
                f,
                "empty value name ##{}## (write \\## for a literal ##)",
                self.text
            ),
            TemplateErrorKind::UnmatchedEnd => {
                f.write_str("##end## without an ##if Name## before it")
            }
            TemplateErrorKind::UnclosedIf => {
                f.write_str("##if ...## without its ##end## (a block ends with ##end##)")
            }
        }
    }
}

impl std::error::Error for TemplateError {}
