//! Recycled strings for the mapping hot loop. `validate` maps a million rows and
//! drops almost every user right after judging it; a [`Pool`] takes a dropped
//! user's strings back ([`Pool::clear`], which leaves the user empty with its
//! vectors' capacity) and hands them to the next row ([`Pool::string`]), so a clean row costs next to no allocation. A fresh pool
//! simply allocates, so callers that keep their users (the importer) lose nothing.

use std::borrow::Cow;

use super::DesiredUser;
use crate::scim::model::{GenesysUser, User};

/// Most strings a pool keeps (a user holds a few dozen).
const MAX_STRINGS: usize = 256;

/// Spare strings.
#[derive(Debug, Default)]
pub struct Pool {
    strings: Vec<String>,
    /// An emptied Genesys extension and group list, whose vectors keep their
    /// capacity.
    genesys: Option<GenesysUser>,
    groups: Option<Vec<String>>,
}

impl Pool {
    /// A string holding `s`, reusing a spare one when there is one.
    #[inline]
    pub fn string(&mut self, s: &str) -> String {
        match self.strings.pop() {
            Some(mut b) => {
                b.clear();
                b.push_str(s);
                b
            }
            None => s.to_owned(),
        }
    }

    /// `c` as an owned string (an owned `Cow` is moved, not copied).
    #[inline]
    pub fn own(&mut self, c: Cow<'_, str>) -> String {
        match c {
            Cow::Owned(s) => s,
            Cow::Borrowed(s) => self.string(s),
        }
    }

    /// An empty Genesys extension (a recycled one when there is one).
    pub fn genesys(&mut self) -> GenesysUser {
        self.genesys.take().unwrap_or_default()
    }

    /// An empty group list (a recycled one when there is one).
    pub fn groups(&mut self) -> Vec<String> {
        self.groups.take().unwrap_or_default()
    }

    /// Empties a user that is no longer needed, in place: its strings go to the
    /// pool, and it becomes equal to `DesiredUser::default()` but for its vectors'
    /// capacity, ready for the next [`super::Bound::map_into`].
    pub fn clear(&mut self, du: &mut DesiredUser) {
        let keep = |s: String, pool: &mut Vec<String>| {
            if s.capacity() > 0 && pool.len() < MAX_STRINGS {
                pool.push(s);
            }
        };
        let p = &mut self.strings;
        let u: &mut User = &mut du.user;
        for s in u.schemas.drain(..) {
            keep(s, p);
        }
        for s in [
            u.id.take(),
            u.external_id.take(),
            u.user_name.take(),
            u.display_name.take(),
            u.title.take(),
            u.password.take(),
        ]
        .into_iter()
        .flatten()
        {
            keep(s, p);
        }
        if let Some(n) = u.name.take() {
            for s in [n.formatted, n.given_name, n.family_name]
                .into_iter()
                .flatten()
            {
                keep(s, p);
            }
        }
        for m in u.emails.drain(..).chain(u.phone_numbers.drain(..)) {
            keep(m.value, p);
            if let Some(k) = m.kind {
                keep(k, p);
            }
        }
        for r in u.roles.drain(..) {
            keep(r.value, p);
        }
        u.groups.clear();
        if let Some(e) = u.enterprise.take() {
            let manager = e.manager.map(|m| m.value);
            for s in [
                e.employee_number,
                e.department,
                e.division,
                e.date_hire,
                manager,
            ]
            .into_iter()
            .flatten()
            {
                keep(s, p);
            }
        }
        if let Some(mut g) = u.genesys.take() {
            for x in g
                .routing_skills
                .drain(..)
                .chain(g.routing_languages.drain(..))
            {
                keep(x.name, p);
            }
            for x in g.external_ids.drain(..) {
                keep(x.authority, p);
                keep(x.value, p);
            }
            debug_assert_eq!(g, GenesysUser::default());
            self.genesys = Some(g);
        }
        u.active = None;
        u.meta = None;
        if let Some(mut gs) = du.groups.take() {
            for s in gs.drain(..) {
                keep(s, p);
            }
            self.groups = Some(gs);
        }
        for s in du.clear.drain(..) {
            keep(s, p);
        }
        keep(std::mem::take(&mut du.source_hash), p);
        if let Some(a) = du.anchor.take() {
            keep(a, p);
        }
        du.row = 0;
        debug_assert_eq!(*du, DesiredUser::default(), "clear missed a field");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleared_user_is_empty_and_its_strings_come_back() {
        let mut pool = Pool::default();
        let mut du = DesiredUser {
            row: 7,
            ..DesiredUser::default()
        };
        du.user.user_name = Some("ana@example.com".into());
        du.user.schemas.push("urn:x".into());
        du.clear.push("title".into());
        du.groups = Some(vec!["Sales".into()]);
        pool.clear(&mut du);
        assert_eq!(du, DesiredUser::default());
        assert!(du.user.schemas.capacity() >= 1, "the vector is kept");
        assert_eq!(pool.strings.len(), 4);
        let s = pool.string("abc");
        assert_eq!(s, "abc");
        assert_eq!(pool.strings.len(), 3);
    }
}
