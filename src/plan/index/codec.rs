//! The compact form of one tenant user: the fields planning reads, as one byte string.
//!
//! Owns the encoding (`encode` / `decode` / `keys`) and the [`Interner`] that stores
//! each repeated low-cardinality value (title, department, division, role, skill and
//! language names, email and phone types, externalIds authorities) once for the whole
//! index. Does not index anything (see `keys`) nor decide what a user is (see `mod`).
//!
//! Kept: id, externalId, userName, name, displayName, title, active, emails,
//! phoneNumbers, roles, the enterprise extension (manager by `value` only), the Genesys
//! extension and `meta.version`. Dropped, because no planner path reads them from a
//! tenant user: `schemas`, `password` (never returned), `groups` (the index records
//! them as memberships), the manager's `$ref` and `displayName`, and `meta` other than
//! `version`.
//!
//! Layout: the three keys first (id, externalId, userName) so that a key check reads
//! a prefix without decoding the rest; then the other fields in a fixed order. A
//! string is a varint length then its bytes; an optional string is `0` (none) or
//! `1 + length`; an interned string is `0` (none), `1` (inline, length and bytes
//! follow) or `2 + n` (value `n` of the interner).

use std::collections::HashMap;
use std::sync::Arc;

use crate::scim::model::{
    EnterpriseUser, ExternalIdEntry, GenesysUser, ManagerRef, Meta, MultiValue, Name, Proficiency,
    RoleRef, User,
};

/// Most distinct values the interner keeps; past it, values are stored inline (so a
/// field that turns out unique per user costs its bytes, not an interner entry).
const INTERN_CAP: usize = 1 << 16;

/// Repeated values, stored once and referred to by number.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    values: Vec<Arc<str>>,
    numbers: HashMap<Arc<str>, u32>,
}

impl Interner {
    fn number(&mut self, s: &str) -> Option<u32> {
        if let Some(n) = self.numbers.get(s) {
            return Some(*n);
        }
        if self.values.len() >= INTERN_CAP {
            return None;
        }
        let n = u32::try_from(self.values.len()).ok()?;
        let v: Arc<str> = Arc::from(s);
        self.values.push(v.clone());
        self.numbers.insert(v, n);
        Some(n)
    }

    fn get(&self, n: u64) -> Option<&str> {
        self.values.get(usize::try_from(n).ok()?).map(|v| &**v)
    }

    /// Heap bytes held: the values (once, with their reference-count header) and the
    /// map's table (key, number and control byte per bucket).
    pub fn heap_bytes(&self) -> usize {
        let values: usize = self.values.iter().map(|v| v.len() + 16).sum();
        values
            + self.values.capacity() * std::mem::size_of::<Arc<str>>()
            + self.numbers.capacity() * (std::mem::size_of::<(Arc<str>, u32)>() + 1)
    }
}

/// Encodes the planned fields of `user` (which must have an id).
pub fn encode(user: &User, interner: &mut Interner) -> Box<[u8]> {
    let mut w = Writer {
        out: Vec::with_capacity(192),
        interner,
    };
    w.str(user.id.as_deref().unwrap_or_default());
    w.opt(user.external_id.as_deref());
    w.opt(user.user_name.as_deref());
    match &user.name {
        None => w.byte(0),
        Some(n) => {
            w.byte(1);
            w.opt(n.formatted.as_deref());
            w.opt(n.given_name.as_deref());
            w.opt(n.family_name.as_deref());
        }
    }
    w.opt(user.display_name.as_deref());
    w.interned(user.title.as_deref());
    w.byte(match user.active {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    });
    for list in [&user.emails, &user.phone_numbers] {
        w.len(list.len());
        for m in list {
            w.str(&m.value);
            w.interned(m.kind.as_deref());
            w.byte(u8::from(m.primary));
        }
    }
    w.len(user.roles.len());
    for r in &user.roles {
        w.interned(Some(&r.value));
    }
    match &user.enterprise {
        None => w.byte(0),
        Some(e) => {
            w.byte(1);
            w.opt(e.employee_number.as_deref());
            w.interned(e.department.as_deref());
            w.interned(e.division.as_deref());
            w.opt(e.manager.as_ref().map(|m| m.value.as_str()));
            w.opt(e.date_hire.as_deref());
        }
    }
    match &user.genesys {
        None => w.byte(0),
        Some(g) => {
            w.byte(1);
            for list in [&g.routing_skills, &g.routing_languages] {
                w.len(list.len());
                for p in list {
                    w.interned(Some(&p.name));
                    w.float(p.proficiency);
                }
            }
            w.len(g.external_ids.len());
            for x in &g.external_ids {
                w.interned(Some(&x.authority));
                w.str(&x.value);
            }
        }
    }
    match &user.meta {
        None => w.byte(0),
        Some(m) => {
            w.byte(1);
            w.opt(m.version.as_deref());
        }
    }
    // Custom extension values trail the record, only when there are any, so a
    // user without them encodes exactly as before.
    if !user.extensions.is_empty() {
        w.str(&serde_json::to_string(&user.extensions).unwrap_or_default());
    }
    w.out.into_boxed_slice()
}

/// The three keys at the front of an encoded user: id, externalId, userName.
pub fn keys(bytes: &[u8]) -> (&str, Option<&str>, Option<&str>) {
    let mut r = Reader { bytes, at: 0 };
    let id = r.str().unwrap_or_default();
    let ext = r.opt().flatten();
    let name = r.opt().flatten();
    (id, ext, name)
}

/// Decodes an encoded user back to a [`User`] holding the planned fields.
pub fn decode(bytes: &[u8], interner: &Interner) -> User {
    let mut r = Reader { bytes, at: 0 };
    // The bytes were written by `encode` in this process: a short read cannot happen,
    // and if it did the fields read so far are still the user's.
    decode_fields(&mut r, interner).unwrap_or_default()
}

fn decode_fields(r: &mut Reader<'_>, i: &Interner) -> Option<User> {
    let mut u = User {
        id: Some(r.str()?.to_string()),
        external_id: r.opt()?.map(str::to_string),
        user_name: r.opt()?.map(str::to_string),
        ..User::default()
    };
    if r.byte()? == 1 {
        u.name = Some(Name {
            formatted: r.opt()?.map(str::to_string),
            given_name: r.opt()?.map(str::to_string),
            family_name: r.opt()?.map(str::to_string),
        });
    }
    u.display_name = r.opt()?.map(str::to_string);
    u.title = r.interned(i)?.map(str::to_string);
    u.active = match r.byte()? {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    for list in [&mut u.emails, &mut u.phone_numbers] {
        let n = r.varint()?;
        for _ in 0..n {
            list.push(MultiValue {
                value: r.str()?.to_string(),
                kind: r.interned(i)?.map(str::to_string),
                primary: r.byte()? == 1,
            });
        }
    }
    for _ in 0..r.varint()? {
        u.roles.push(RoleRef {
            value: r.interned(i)?.unwrap_or_default().to_string(),
        });
    }
    if r.byte()? == 1 {
        u.enterprise = Some(EnterpriseUser {
            employee_number: r.opt()?.map(str::to_string),
            department: r.interned(i)?.map(str::to_string),
            division: r.interned(i)?.map(str::to_string),
            manager: r.opt()?.map(|v| ManagerRef {
                value: v.to_string(),
                ..ManagerRef::default()
            }),
            date_hire: r.opt()?.map(str::to_string),
        });
    }
    if r.byte()? == 1 {
        let mut g = GenesysUser::default();
        for list in [&mut g.routing_skills, &mut g.routing_languages] {
            for _ in 0..r.varint()? {
                list.push(Proficiency {
                    name: r.interned(i)?.unwrap_or_default().to_string(),
                    proficiency: r.float()?,
                });
            }
        }
        for _ in 0..r.varint()? {
            g.external_ids.push(ExternalIdEntry {
                authority: r.interned(i)?.unwrap_or_default().to_string(),
                value: r.str()?.to_string(),
            });
        }
        u.genesys = Some(g);
    }
    if r.byte()? == 1 {
        u.meta = Some(Meta {
            version: r.opt()?.map(str::to_string),
            ..Meta::default()
        });
    }
    if r.at < r.bytes.len() {
        u.extensions = serde_json::from_str(r.str()?).unwrap_or_default();
    }
    Some(u)
}

struct Writer<'a> {
    out: Vec<u8>,
    interner: &'a mut Interner,
}

impl Writer<'_> {
    fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn len(&mut self, n: usize) {
        self.varint(n as u64);
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.out.extend_from_slice(s.as_bytes());
    }

    fn opt(&mut self, s: Option<&str>) {
        match s {
            None => self.byte(0),
            Some(s) => {
                self.varint(s.len() as u64 + 1);
                self.out.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn interned(&mut self, s: Option<&str>) {
        match s {
            None => self.byte(0),
            Some(s) => match self.interner.number(s) {
                Some(n) => self.varint(u64::from(n) + 2),
                None => {
                    self.byte(1);
                    self.str(s);
                }
            },
        }
    }

    /// A proficiency: one byte for a whole number 0..=250 (the usual case), else a
    /// marker and the eight bytes of the f64 (lossless either way).
    fn float(&mut self, v: f64) {
        let small = v.fract() == 0.0 && (0.0..=250.0).contains(&v) && v.is_sign_positive();
        if small {
            self.byte(v as u8);
        } else {
            self.byte(0xFF);
            self.out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn take(&mut self, n: u64) -> Option<&'a str> {
        let n = usize::try_from(n).ok()?;
        let end = self.at.checked_add(n)?;
        let s = std::str::from_utf8(self.bytes.get(self.at..end)?).ok()?;
        self.at = end;
        Some(s)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.varint()?;
        self.take(n)
    }

    /// `Some(None)` for an absent value, `None` for a short read.
    fn opt(&mut self) -> Option<Option<&'a str>> {
        match self.varint()? {
            0 => Some(None),
            n => self.take(n - 1).map(Some),
        }
    }

    fn interned<'i>(&mut self, i: &'i Interner) -> Option<Option<&'i str>>
    where
        'a: 'i,
    {
        match self.varint()? {
            0 => Some(None),
            1 => self.str().map(Some),
            n => i.get(n - 2).map(Some),
        }
    }

    fn float(&mut self) -> Option<f64> {
        match self.byte()? {
            0xFF => {
                let end = self.at.checked_add(8)?;
                let b: [u8; 8] = self.bytes.get(self.at..end)?.try_into().ok()?;
                self.at = end;
                Some(f64::from_le_bytes(b))
            }
            b => Some(f64::from(b)),
        }
    }
}
