//! Templates such as `"{first_name} {last_name}"`: literal text and `{column}`
//! references (`{{` / `}}` are literal braces). Parsed once; rendering joins the
//! parts, and when a referenced column is blank the result's runs of spaces are
//! collapsed and trimmed, so `"{first} {middle} {last}"` never leaves double spaces.

use std::borrow::Cow;

/// One part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<C> {
    /// Literal text.
    Lit(String),
    /// A column reference (a name before binding, an index after).
    Col(C),
}

/// A parsed template over column references of type `C`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template<C> {
    /// The parts in order.
    pub parts: Vec<Part<C>>,
}

/// A template that cannot be parsed; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(String);

impl Template<String> {
    /// Parses a template; `Err` says what is wrong.
    pub fn parse(s: &str) -> Result<Self, TemplateError> {
        Template::parse_or_why(s).map_err(TemplateError)
    }

    fn parse_or_why(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => {
                                return Err(format!("template `{s}`: unclosed `{{`"));
                            }
                            Some(c) => name.push(c),
                        }
                    }
                    let name = name.trim().to_string();
                    if name.is_empty() {
                        return Err(format!("template `{s}`: empty `{{}}`"));
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Col(name));
                }
                '}' => return Err(format!("template `{s}`: unmatched `}}` (write `}}}}`)")),
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        if !parts.iter().any(|p| matches!(p, Part::Col(_))) {
            return Err(format!(
                "template `{s}` names no column; use `value` for a constant"
            ));
        }
        Ok(Self { parts })
    }

    /// The column names referenced.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Col(c) => Some(c.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// Binds column names to indices with `index_of`; `Err` lists missing names.
    pub fn bind(
        &self,
        index_of: impl Fn(&str) -> Option<usize>,
    ) -> Result<Template<usize>, Vec<String>> {
        let mut missing = Vec::new();
        let mut parts = Vec::with_capacity(self.parts.len());
        for p in &self.parts {
            match p {
                Part::Lit(l) => parts.push(Part::Lit(l.clone())),
                Part::Col(c) => match index_of(c) {
                    Some(i) => parts.push(Part::Col(i)),
                    None => missing.push(c.clone()),
                },
            }
        }
        if missing.is_empty() {
            Ok(Template { parts })
        } else {
            Err(missing)
        }
    }
}

impl Template<usize> {
    /// Renders over a row's fields; blank when every referenced column is blank.
    pub fn render<'a>(&self, fields: &[&'a str]) -> Cow<'a, str> {
        let mut out = String::new();
        if self.render_into(fields, &mut out) {
            Cow::Owned(out)
        } else {
            Cow::Borrowed("")
        }
    }

    /// Whether a referenced column is not blank: then the rendering is not blank
    /// either (it holds that column's trimmed text).
    pub fn any_filled(&self, fields: &[&str]) -> bool {
        self.parts.iter().any(|p| match p {
            Part::Col(i) => fields
                .get(*i)
                .is_some_and(|s| !super::transform::trim_str(s).is_empty()),
            Part::Lit(_) => false,
        })
    }

    /// [`Template::render`] into `out` (emptied first); `false` (and `out` empty)
    /// when every referenced column is blank.
    pub fn render_into(&self, fields: &[&str], out: &mut String) -> bool {
        out.clear();
        let mut any = false;
        let mut some_blank = false;
        for p in &self.parts {
            if let Part::Col(i) = p {
                let v = fields.get(*i).map_or("", |s| super::transform::trim_str(s));
                if v.is_empty() {
                    some_blank = true;
                } else {
                    any = true;
                }
            }
        }
        if !any {
            return false;
        }
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Col(i) => {
                    out.push_str(fields.get(*i).map_or("", |s| super::transform::trim_str(s)))
                }
            }
        }
        if some_blank {
            // Collapse runs of spaces (and drop them at the ends) in place.
            let mut prev_space = true;
            let collapsed: String = out
                .chars()
                .filter(|&c| {
                    let keep = c != ' ' || !prev_space;
                    prev_space = c == ' ';
                    keep
                })
                .collect();
            *out = collapsed;
            if out.ends_with(' ') {
                out.pop();
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Template<usize> {
        let names = ["first", "middle", "last"];
        Template::parse(s)
            .unwrap()
            .bind(|n| names.iter().position(|x| *x == n))
            .unwrap()
    }

    #[test]
    fn renders_columns_and_literals() {
        assert_eq!(t("{first} {last}").render(&["Ana", "", "Lima"]), "Ana Lima");
        assert_eq!(
            t("{first} {middle} {last}").render(&["Ana", "", "Lima"]),
            "Ana Lima"
        );
        assert_eq!(t("{{{first}}}").render(&["x", "", ""]), "{x}");
        assert_eq!(t("{ first }.{last}").render(&[" a ", "", "b"]), "a.b");
        assert_eq!(t("{first} {last}").render(&["", "", " "]), "");
    }

    #[test]
    fn parse_errors() {
        assert!(Template::parse("{first").is_err());
        assert!(Template::parse("a}b").is_err());
        assert!(Template::parse("{}").is_err());
        assert!(Template::parse("no columns").is_err());
    }

    #[test]
    fn bind_lists_every_missing_column() {
        let tpl = Template::parse("{a} {b} {c}").unwrap();
        assert_eq!(
            tpl.bind(|n| (n == "b").then_some(0)).unwrap_err(),
            vec!["a".to_string(), "c".to_string()]
        );
    }
}
