//! Intake questionnaires as pure values: a form's questions (what an administrator
//! builds) and the checking of a patient's answers against them.
//!
//! Answers arrive as text (a web form or JSON), one or more values per question, and
//! leave as typed [`Answer`]s or as field errors keyed by the question's id, so a page
//! can show each message beside its question. Numbers are kept as the decimal text the
//! patient typed (normalised), never as floating point.

use crate::validation::{FieldError, Validation};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most questions one form may have.
pub const MAX_QUESTIONS: usize = 100;
/// The most options a choice question may offer.
pub const MAX_OPTIONS: usize = 50;
/// The longest free-text answer, in characters.
pub const MAX_TEXT: usize = 5000;

/// What kind of answer a question takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Free text (one line or several).
    Text,
    /// Exactly one of the options.
    Choice,
    /// Any number of the options.
    MultiChoice,
    /// A calendar date.
    Date,
    /// A number (decimals allowed), optionally between `min` and `max`.
    Number,
    /// Yes or no.
    YesNo,
    /// A whole number on a scale from `min` to `max` (default 0–10).
    Scale,
}

impl QuestionKind {
    /// Every kind, in the order the form builder offers them.
    pub const ALL: [QuestionKind; 7] = [
        QuestionKind::Text,
        QuestionKind::Choice,
        QuestionKind::MultiChoice,
        QuestionKind::Date,
        QuestionKind::Number,
        QuestionKind::YesNo,
        QuestionKind::Scale,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Text => "text",
            QuestionKind::Choice => "choice",
            QuestionKind::MultiChoice => "multi_choice",
            QuestionKind::Date => "date",
            QuestionKind::Number => "number",
            QuestionKind::YesNo => "yes_no",
            QuestionKind::Scale => "scale",
        }
    }

    /// The kind in words.
    pub fn label(self) -> &'static str {
        match self {
            QuestionKind::Text => "Text",
            QuestionKind::Choice => "One choice",
            QuestionKind::MultiChoice => "Several choices",
            QuestionKind::Date => "Date",
            QuestionKind::Number => "Number",
            QuestionKind::YesNo => "Yes / no",
            QuestionKind::Scale => "Scale",
        }
    }

    /// From the stored code.
    pub fn parse(s: &str) -> Option<Self> {
        QuestionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the question offers options to choose from.
    pub fn has_options(self) -> bool {
        matches!(self, QuestionKind::Choice | QuestionKind::MultiChoice)
    }
}

/// One question of a form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Question {
    /// A stable key within the form (`q1`, `allergies`); answers are keyed by it.
    #[serde(default)]
    pub id: String,
    /// The question as the patient reads it.
    #[serde(default)]
    pub label: String,
    /// A hint shown below the question.
    #[serde(default)]
    pub help: String,
    /// The kind of answer.
    pub kind: QuestionKind,
    /// Whether an answer is required.
    #[serde(default)]
    pub required: bool,
    /// Choices offered (choice and multi-choice only).
    #[serde(default)]
    pub options: Vec<String>,
    /// Lowest allowed value (number, scale).
    #[serde(default)]
    pub min: Option<i64>,
    /// Highest allowed value (number, scale).
    #[serde(default)]
    pub max: Option<i64>,
}

impl Question {
    /// The lowest and highest value of a scale question.
    pub fn scale_bounds(&self) -> (i64, i64) {
        (self.min.unwrap_or(0), self.max.unwrap_or(10))
    }
}

/// A version of a form's questions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormDefinition {
    /// The questions, in order.
    #[serde(default)]
    pub questions: Vec<Question>,
}

fn is_key(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl FormDefinition {
    /// Checks the definition an administrator built; errors name the question
    /// (`questions[2].label`). Empty option lines are dropped and ids are filled in
    /// (`q1`, `q2`, …) where missing.
    pub fn normalise(mut self) -> Result<FormDefinition, Vec<FieldError>> {
        let mut v = Validation::new();
        if self.questions.is_empty() {
            v.add("questions", "required", "Add at least one question.");
        }
        if self.questions.len() > MAX_QUESTIONS {
            v.add("questions", "too_many", format!("A form has at most {MAX_QUESTIONS} questions."));
        }
        let explicit: std::collections::BTreeSet<String> =
            self.questions.iter().map(|q| q.id.trim().to_string()).filter(|s| !s.is_empty()).collect();
        let mut seen = std::collections::BTreeSet::new();
        let mut next = 1;
        for (i, q) in self.questions.iter_mut().enumerate() {
            let f = |name: &str| format!("questions[{i}].{name}");
            q.id = q.id.trim().to_string();
            if q.id.is_empty() {
                while explicit.contains(&format!("q{next}")) {
                    next += 1;
                }
                q.id = format!("q{next}");
                next += 1;
            }
            if !is_key(&q.id) {
                v.add(&f("id"), "invalid", "Use letters, digits, '-' or '_' (at most 40) for the question key.");
            } else if !seen.insert(q.id.clone()) {
                v.add(&f("id"), "duplicate", "Two questions have the same key; give each its own.");
            }
            q.label = q.label.trim().to_string();
            q.help = q.help.trim().to_string();
            if q.label.is_empty() {
                v.add(&f("label"), "required", "Write the question.");
            } else if q.label.chars().count() > 500 {
                v.add(&f("label"), "too_long", "Use at most 500 characters.");
            }
            if q.help.chars().count() > 1000 {
                v.add(&f("help"), "too_long", "Use at most 1000 characters.");
            }
            q.options = q.options.iter().map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect();
            if q.kind.has_options() {
                if q.options.len() < 2 {
                    v.add(&f("options"), "required", "Give at least two options, one per line.");
                } else if q.options.len() > MAX_OPTIONS {
                    v.add(&f("options"), "too_many", format!("Offer at most {MAX_OPTIONS} options."));
                }
                let mut distinct = std::collections::BTreeSet::new();
                if q.options.iter().any(|o| !distinct.insert(o.to_lowercase())) {
                    v.add(&f("options"), "duplicate", "Each option may appear only once.");
                }
                if q.options.iter().any(|o| o.chars().count() > 200) {
                    v.add(&f("options"), "too_long", "Keep each option under 200 characters.");
                }
            } else {
                q.options.clear();
            }
            match q.kind {
                QuestionKind::Number | QuestionKind::Scale => {
                    let (lo, hi) = if q.kind == QuestionKind::Scale {
                        (Some(q.scale_bounds().0), Some(q.scale_bounds().1))
                    } else {
                        (q.min, q.max)
                    };
                    if let (Some(lo), Some(hi)) = (lo, hi)
                        && lo >= hi
                    {
                        v.add(&f("max"), "invalid", "The highest value must be above the lowest.");
                    }
                    if q.kind == QuestionKind::Scale
                        && let (Some(lo), Some(hi)) = (lo, hi)
                        && hi - lo > 100
                    {
                        v.add(&f("max"), "invalid", "A scale has at most 101 points.");
                    }
                }
                _ => {
                    q.min = None;
                    q.max = None;
                }
            }
        }
        v.finish()?;
        Ok(self)
    }

    /// The question with key `id`.
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// Checks raw answers (question key → values as typed) and returns the typed
    /// answers, or field errors keyed by question key. Unknown keys are ignored;
    /// unanswered optional questions are left out.
    pub fn check_answers(
        &self,
        raw: &BTreeMap<String, Vec<String>>,
    ) -> Result<BTreeMap<String, Answer>, Vec<FieldError>> {
        let mut v = Validation::new();
        let mut out = BTreeMap::new();
        for q in &self.questions {
            let values: Vec<&str> = raw
                .get(&q.id)
                .map(|vs| vs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default();
            if values.is_empty() {
                if q.required {
                    let msg = match q.kind {
                        QuestionKind::Choice | QuestionKind::YesNo | QuestionKind::Scale => "Choose an answer.",
                        QuestionKind::MultiChoice => "Choose at least one answer.",
                        _ => "Please answer this question.",
                    };
                    v.add(&q.id, "required", msg);
                }
                continue;
            }
            match check_one(q, &values) {
                Ok(a) => {
                    out.insert(q.id.clone(), a);
                }
                Err(msg) => v.add(&q.id, "invalid", msg),
            }
        }
        v.finish()?;
        Ok(out)
    }
}

/// A checked answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Answer {
    /// Free text.
    Text(String),
    /// One option.
    Choice(String),
    /// Several options, in the form's order.
    MultiChoice(Vec<String>),
    /// A date.
    #[schema(value_type = String, format = Date)]
    Date(Date),
    /// A number as normalised decimal text (`-12.5`).
    Number(String),
    /// Yes (true) or no.
    YesNo(bool),
    /// A point on the scale.
    Scale(i64),
}

impl Answer {
    /// The answer as people read it.
    pub fn display(&self) -> String {
        match self {
            Answer::Text(s) | Answer::Choice(s) | Answer::Number(s) => s.clone(),
            Answer::MultiChoice(v) => v.join(", "),
            Answer::Date(d) => d.strftime("%-d %b %Y").to_string(),
            Answer::YesNo(b) => if *b { "Yes" } else { "No" }.into(),
            Answer::Scale(n) => n.to_string(),
        }
    }

    /// The values as a form would send them back (to refill a form).
    pub fn raw(&self) -> Vec<String> {
        match self {
            Answer::Text(s) | Answer::Choice(s) | Answer::Number(s) => vec![s.clone()],
            Answer::MultiChoice(v) => v.clone(),
            Answer::Date(d) => vec![d.to_string()],
            Answer::YesNo(b) => vec![if *b { "yes" } else { "no" }.into()],
            Answer::Scale(n) => vec![n.to_string()],
        }
    }
}

/// A decimal number as text: optional sign, digits, optional fraction (at most 6
/// digits). Returns the normalised text and the value scaled by 10^6 for comparisons.
pub fn parse_decimal(s: &str) -> Option<(String, i128)> {
    let s = s.trim().replace(',', ".");
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if int.len() > 15 || frac.len() > 6 {
        return None;
    }
    let int_v: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_trim = frac.trim_end_matches('0');
    let frac_v: i128 = format!("{frac_trim:0<6}").parse().ok()?;
    let scaled = int_v * 1_000_000 + frac_v;
    let int_norm = int.trim_start_matches('0');
    let int_norm = if int_norm.is_empty() { "0" } else { int_norm };
    let mut text = if frac_trim.is_empty() { int_norm.to_string() } else { format!("{int_norm}.{frac_trim}") };
    let scaled = if neg && scaled != 0 {
        text.insert(0, '-');
        -scaled
    } else {
        scaled
    };
    Some((text, scaled))
}

fn check_one(q: &Question, values: &[&str]) -> Result<Answer, String> {
    let single = || -> Result<&str, String> {
        if values.len() > 1 { Err("Give one answer only.".into()) } else { Ok(values[0]) }
    };
    match q.kind {
        QuestionKind::Text => {
            let s = values.join("\n");
            if s.chars().count() > MAX_TEXT {
                return Err(format!("Use at most {MAX_TEXT} characters."));
            }
            Ok(Answer::Text(s))
        }
        QuestionKind::Choice => {
            let s = single()?;
            q.options
                .iter()
                .find(|o| o.as_str() == s)
                .map(|o| Answer::Choice(o.clone()))
                .ok_or_else(|| "Choose one of the options.".into())
        }
        QuestionKind::MultiChoice => {
            for s in values {
                if !q.options.iter().any(|o| o == s) {
                    return Err("Choose among the options shown.".into());
                }
            }
            // In the form's order, each once.
            Ok(Answer::MultiChoice(q.options.iter().filter(|o| values.contains(&o.as_str())).cloned().collect()))
        }
        QuestionKind::Date => {
            let s = single()?;
            s.parse::<Date>().map(Answer::Date).map_err(|_| "Enter a date as YYYY-MM-DD.".into())
        }
        QuestionKind::Number => {
            let s = single()?;
            let (text, scaled) = parse_decimal(s).ok_or("Enter a number, such as 72 or 72.5.")?;
            if let Some(min) = q.min
                && scaled < i128::from(min) * 1_000_000
            {
                return Err(format!("Enter a number of at least {min}."));
            }
            if let Some(max) = q.max
                && scaled > i128::from(max) * 1_000_000
            {
                return Err(format!("Enter a number of at most {max}."));
            }
            Ok(Answer::Number(text))
        }
        QuestionKind::YesNo => match single()?.to_ascii_lowercase().as_str() {
            "yes" | "true" | "y" | "1" => Ok(Answer::YesNo(true)),
            "no" | "false" | "n" | "0" => Ok(Answer::YesNo(false)),
            _ => Err("Answer yes or no.".into()),
        },
        QuestionKind::Scale => {
            let (lo, hi) = q.scale_bounds();
            let n: i64 = single()?.parse().map_err(|_| format!("Choose a whole number from {lo} to {hi}."))?;
            if n < lo || n > hi {
                return Err(format!("Choose a whole number from {lo} to {hi}."));
            }
            Ok(Answer::Scale(n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(id: &str, kind: QuestionKind, required: bool) -> Question {
        Question {
            id: id.into(),
            label: format!("Question {id}"),
            help: String::new(),
            kind,
            required,
            options: if kind.has_options() { vec!["Red".into(), "Green".into(), "Blue".into()] } else { vec![] },
            min: if kind == QuestionKind::Number { Some(0) } else { None },
            max: if kind == QuestionKind::Number { Some(300) } else { None },
        }
    }

    fn every_kind() -> FormDefinition {
        FormDefinition {
            questions: QuestionKind::ALL
                .iter()
                .enumerate()
                .map(|(i, k)| q(&format!("q{}", i + 1), *k, i % 2 == 0))
                .collect(),
        }
    }

    fn raw(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn a_complete_answer_set_is_typed() {
        let def = every_kind().normalise().unwrap();
        let a = def
            .check_answers(&raw(&[
                ("q1", &["Peanuts"]),
                ("q2", &["Green"]),
                ("q3", &["Blue", "Red"]),
                ("q4", &["1980-02-29"]),
                ("q5", &["72,50"]),
                ("q6", &["no"]),
                ("q7", &["7"]),
            ]))
            .unwrap();
        assert_eq!(a["q3"], Answer::MultiChoice(vec!["Red".into(), "Blue".into()]), "form order");
        assert_eq!(a["q5"], Answer::Number("72.5".into()));
        assert_eq!(a["q6"], Answer::YesNo(false));
        assert_eq!(a["q4"].display(), "29 Feb 1980");
    }

    #[test]
    fn required_and_wrong_answers_name_their_question() {
        let def = every_kind().normalise().unwrap();
        let errs = def.check_answers(&raw(&[("q2", &["Purple"]), ("q5", &["400"]), ("q7", &["11"])])).unwrap_err();
        let fields: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert!(fields.contains(&("q1", "required")));
        assert!(fields.contains(&("q2", "invalid")));
        assert!(fields.contains(&("q3", "required")));
        assert!(fields.contains(&("q5", "invalid")), "above max");
        assert!(fields.contains(&("q7", "invalid")), "off the scale");
        assert!(!fields.iter().any(|(f, _)| *f == "q4" || *f == "q6"), "optional and unanswered");
    }

    #[test]
    fn definitions_are_checked_and_normalised() {
        let mut def = every_kind();
        def.questions[1].options = vec!["Only".into(), " ".into()];
        def.questions[0].label = " ".into();
        def.questions[2].id = "q1".into();
        let errs = def.normalise().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"questions[0].label"));
        assert!(fields.contains(&"questions[1].options"));
        assert!(fields.contains(&"questions[2].id"));
        let blank_ids =
            FormDefinition { questions: vec![Question { id: String::new(), ..q("x", QuestionKind::Text, false) }] };
        assert_eq!(blank_ids.normalise().unwrap().questions[0].id, "q1");
        assert!(FormDefinition::default().normalise().is_err(), "no questions");
    }

    #[test]
    fn decimals_are_parsed_without_floats() {
        assert_eq!(parse_decimal("007.50"), Some(("7.5".into(), 7_500_000)));
        assert_eq!(parse_decimal("-0.0"), Some(("0".into(), 0)));
        assert_eq!(parse_decimal("-3"), Some(("-3".into(), -3_000_000)));
        assert_eq!(parse_decimal(".5"), Some(("0.5".into(), 500_000)));
        for bad in ["", "-", ".", "1e5", "1.2.3", "abc", "1.1234567", "NaN"] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    proptest! {
        /// Whatever a patient sends, checking never panics, and every accepted answer
        /// obeys its question (an option of the list, within bounds, a real date).
        #[test]
        fn accepted_answers_always_obey_their_question(values in proptest::collection::vec(proptest::collection::vec(".{0,12}", 0..4), 7)) {
            let def = every_kind().normalise().unwrap();
            let raw: BTreeMap<String, Vec<String>> = values.into_iter().enumerate().map(|(i, v)| (format!("q{}", i + 1), v)).collect();
            if let Ok(answers) = def.check_answers(&raw) {
                for q in &def.questions {
                    match answers.get(&q.id) {
                        None => prop_assert!(!q.required),
                        Some(Answer::Choice(c)) => prop_assert!(q.options.contains(c)),
                        Some(Answer::MultiChoice(cs)) => prop_assert!(!cs.is_empty() && cs.iter().all(|c| q.options.contains(c))),
                        Some(Answer::Scale(n)) => prop_assert!((0..=10).contains(n)),
                        Some(Answer::Number(t)) => {
                            let (_, v) = parse_decimal(t).unwrap();
                            prop_assert!((0..=300_000_000).contains(&v));
                        }
                        Some(Answer::Text(t)) => prop_assert!(!t.trim().is_empty()),
                        Some(_) => {}
                    }
                }
            }
        }

        /// An answer given back as the form sends it is read again as the same answer.
        #[test]
        fn answers_round_trip_through_their_raw_form(n in -1000i64..1000, frac in 0u32..1000, pick in 0usize..3, yes: bool) {
            let mut def = every_kind();
            def.questions[4].min = None;
            def.questions[4].max = None;
            let def = def.normalise().unwrap();
            let number = if frac == 0 { n.to_string() } else { format!("{n}.{frac:03}") };
            let first = raw(&[("q1", &["t"]), ("q2", &[["Red", "Green", "Blue"][pick]]), ("q3", &["Blue"]), ("q5", &[number.as_str()]), ("q6", &[if yes { "yes" } else { "no" }]), ("q7", &["3"])]);
            let a = def.check_answers(&first).unwrap();
            let again: BTreeMap<String, Vec<String>> = a.iter().map(|(k, v)| (k.clone(), v.raw())).collect();
            prop_assert_eq!(def.check_answers(&again).unwrap(), a);
        }
    }
}
