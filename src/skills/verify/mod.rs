//! `scimport skills verify`: did each user's routing skills and languages land
//! as the mapping asked? [`compare`] judges one user's list of one kind (pure);
//! [`run`] reads the run's ledger, recomputes what the mapping asked from the
//! run's recorded input and mapping, reads each user back through the platform
//! API, and [`parquet`] writes `skills-verify.parquet`.
//!
//! What was asked: a row whose skills (or languages) are mapped and not blank
//! asks for exactly that list (Genesys takes the list sent as the user's
//! complete set); a row whose rule was blank with `clear` asks for none; a row
//! whose rule was blank and ignored asks nothing, and that kind is not judged
//! for it.

pub mod parquet;
pub mod run;
#[cfg(test)]
mod tests;

use super::Kind;
use crate::mapping::DesiredUser;
use crate::scim::model::Proficiency;

/// Two proficiencies closer than this are equal (they travel as JSON numbers).
const EPSILON: f64 = 1e-9;

/// Why a skill or language does not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Problem {
    /// Asked for, but the user does not hold it.
    Missing,
    /// Held, but not asked for.
    Unexpected,
    /// Held with another proficiency.
    Proficiency,
}

impl Problem {
    /// `missing`, `unexpected` or `proficiency` (the parquet spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Missing => "missing",
            Problem::Unexpected => "unexpected",
            Problem::Proficiency => "proficiency",
        }
    }
}

/// One user and one skill or language: a row of `skills-verify.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The input row.
    pub row: u64,
    /// The row's externalId.
    pub external_id: Option<String>,
    /// The tenant's user id.
    pub user_id: String,
    /// Skill or language.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// The proficiency the mapping asked for (`None`: not asked for).
    pub expected: Option<f64>,
    /// The proficiency the user holds (`None`: not held).
    pub actual: Option<f64>,
    /// Whether both agree.
    pub matched: bool,
    /// Why not, when they do not.
    pub problem: Option<Problem>,
}

/// The list of `kind` a desired user asks for: `None` when the row does not
/// manage it (unmapped, or blank and ignored).
pub fn asked(du: &DesiredUser, kind: Kind) -> Option<&[Proficiency]> {
    let list = du.user.genesys.as_ref().map(|g| match kind {
        Kind::Skill => g.routing_skills.as_slice(),
        Kind::Language => g.routing_languages.as_slice(),
    });
    match list {
        Some(l) if !l.is_empty() => Some(l),
        _ => {
            let path = kind.target().path();
            du.clear.contains(&path).then_some(&[][..])
        }
    }
}

/// One name judged: the name, the proficiency asked for and the one held (`None`:
/// not asked, not held), and the problem when they differ.
pub type Judged = (String, Option<f64>, Option<f64>, Option<Problem>);

/// Every name of `expected` and `actual` (by name; case-sensitive), in the
/// expected order then the unexpected ones by name, each judged.
pub fn compare(expected: &[Proficiency], actual: &[Proficiency]) -> Vec<Judged> {
    let mut out = Vec::with_capacity(expected.len().max(actual.len()));
    for e in expected {
        let held = actual.iter().find(|a| a.name == e.name);
        let problem = match held {
            None => Some(Problem::Missing),
            Some(a) if (a.proficiency - e.proficiency).abs() > EPSILON => {
                Some(Problem::Proficiency)
            }
            Some(_) => None,
        };
        out.push((
            e.name.clone(),
            Some(e.proficiency),
            held.map(|a| a.proficiency),
            problem,
        ));
    }
    let mut extra: Vec<&Proficiency> = actual
        .iter()
        .filter(|a| !expected.iter().any(|e| e.name == a.name))
        .collect();
    extra.sort_by(|a, b| a.name.cmp(&b.name));
    for a in extra {
        out.push((
            a.name.clone(),
            None,
            Some(a.proficiency),
            Some(Problem::Unexpected),
        ));
    }
    out
}

/// What a verification found, for the summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    /// The run verified.
    pub run_id: String,
    /// Users read back.
    pub users: u64,
    /// Users whose every checked skill and language matched.
    pub matched: u64,
    /// Users with at least one mismatch.
    pub mismatched: u64,
    /// Ledger rows left out: no user id, not succeeded, or nothing managed.
    pub skipped: u64,
    /// Every row written to the parquet file.
    pub checked: Vec<Checked>,
    /// GETs sent.
    pub calls: u64,
    /// The parquet file written.
    pub path: std::path::PathBuf,
}

impl VerifyReport {
    /// The mismatching rows, in row order.
    pub fn mismatches(&self) -> impl Iterator<Item = &Checked> {
        self.checked.iter().filter(|c| !c.matched)
    }
}
