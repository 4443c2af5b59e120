//! Platform (non-SCIM) endpoints: the routing catalogue (`GET
//! /api/v2/routing/skills` and `/languages`, paged, `name` prefix filter) and a
//! user's routing assignments (`GET /api/v2/users/{id}/routingskills` and
//! `/routinglanguages`, paged, sorted by name). `--drop-skill` leaves skills out
//! of the user's assignments here only (SCIM still shows them): the fault
//! `scimport skills verify` must catch.

use axum::extract::{Extension, Path, RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::emulator::errors::ApiError;
use crate::emulator::permissions;
use crate::emulator::state::Caller;
use crate::emulator::tenant::stable_id;
use crate::scim::model::{EntityListing, Proficiency, RoutingSkill, UserRoutingSkill};

struct Paging {
    size: u64,
    number: u64,
    name: Option<String>,
}

fn paging(q: Option<&str>) -> Result<Paging, ApiError> {
    let pairs: Vec<(String, String)> = axum::extract::Query::try_from_uri(
        &format!("/?{}", q.unwrap_or("")).parse().unwrap_or_default(),
    )
    .map(|axum::extract::Query(v)| v)
    .unwrap_or_default();
    let mut p = Paging {
        size: 25,
        number: 1,
        name: None,
    };
    for (k, v) in pairs {
        let num = || {
            v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::bad_request(format!("{k} must be a positive integer, not {v:?}"))
            })
        };
        match k.as_str() {
            "pageSize" => p.size = num()?.min(500),
            "pageNumber" => p.number = num()?,
            "name" => p.name = Some(v.clone()),
            _ => {}
        }
    }
    Ok(p)
}

fn listing<T>(all: Vec<T>, p: &Paging, base: &str) -> EntityListing<T> {
    let total = all.len() as u64;
    let page_count = total.div_ceil(p.size);
    let entities: Vec<T> = all
        .into_iter()
        .skip(((p.number - 1) * p.size) as usize)
        .take(p.size as usize)
        .collect();
    EntityListing {
        entities,
        page_size: p.size,
        page_number: p.number,
        total,
        page_count,
        self_uri: Some(format!(
            "{base}?pageSize={}&pageNumber={}",
            p.size, p.number
        )),
        next_uri: (p.number < page_count)
            .then(|| format!("{base}?pageSize={}&pageNumber={}", p.size, p.number + 1)),
    }
}

/// Skills or languages: the two halves of the routing catalogue.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Skill,
    Language,
}

impl Kind {
    /// The `stable_id` kind and the URL segment.
    fn id_kind(self) -> &'static str {
        match self {
            Kind::Skill => "skill",
            Kind::Language => "language",
        }
    }
    fn names(self, s: &AppState) -> &[String] {
        match self {
            Kind::Skill => &s.cat.file.skills,
            Kind::Language => &s.cat.file.languages,
        }
    }
    fn collection(self) -> &'static str {
        match self {
            Kind::Skill => "/api/v2/routing/skills",
            Kind::Language => "/api/v2/routing/languages",
        }
    }
}

/// `GET /api/v2/routing/skills`
pub(crate) async fn skills(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::SKILL_VIEW])?;
    catalogue(&s, Kind::Skill, q.as_deref())
}

/// `GET /api/v2/routing/languages` (any valid token: the emulator asks no
/// permission of its own for the language list).
pub(crate) async fn languages(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    catalogue(&s, Kind::Language, q.as_deref())
}

fn catalogue(s: &AppState, kind: Kind, q: Option<&str>) -> Result<Response, ApiError> {
    let p = paging(q)?;
    let prefix = p
        .name
        .as_deref()
        .map(|n| n.trim_end_matches('*').to_lowercase());
    let all: Vec<RoutingSkill> = kind
        .names(s)
        .iter()
        .filter(|n| {
            prefix
                .as_deref()
                .is_none_or(|pre| n.to_lowercase().starts_with(pre))
        })
        .map(|n| {
            let id = stable_id(kind.id_kind(), n);
            RoutingSkill {
                id: id.to_string(),
                name: n.clone(),
                state: "active".into(),
                self_uri: format!("{}/{id}", kind.collection()),
            }
        })
        .collect();
    Ok(axum::Json(listing(all, &p, kind.collection())).into_response())
}

/// `GET /api/v2/users/{id}/routingskills`
pub(crate) async fn user_skills(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::SKILL_ASSIGN])?;
    assignments(&s, Kind::Skill, &id, q.as_deref())
}

/// `GET /api/v2/users/{id}/routinglanguages`
pub(crate) async fn user_languages(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::LANGUAGE_ASSIGN])?;
    assignments(&s, Kind::Language, &id, q.as_deref())
}

/// A language on a user (Genesys names its link `languageUri`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct UserLanguage {
    id: String,
    name: String,
    proficiency: f64,
    state: String,
    language_uri: String,
    self_uri: String,
}

fn assignments(s: &AppState, kind: Kind, id: &str, q: Option<&str>) -> Result<Response, ApiError> {
    let p = paging(q)?;
    let user = {
        let store = s.store.read();
        let idx = store
            .find(id)
            .ok_or_else(|| ApiError::not_found(format!("User {id} was not found.")))?;
        store.writable(idx)
    };
    let held: Vec<Proficiency> = user
        .genesys
        .map(|g| match kind {
            Kind::Skill => g.routing_skills,
            Kind::Language => g.routing_languages,
        })
        .unwrap_or_default();
    let mut held: Vec<(String, String, f64)> = held
        .into_iter()
        .filter(|r| kind.names(s).contains(&r.name))
        .filter(|r| kind != Kind::Skill || !s.cfg.drop_skill.contains(&r.name))
        .map(|r| {
            let cat = stable_id(kind.id_kind(), &r.name).to_string();
            (r.name, cat, r.proficiency)
        })
        .collect();
    held.sort_by(|a, b| a.0.cmp(&b.0));
    let segment = match kind {
        Kind::Skill => "routingskills",
        Kind::Language => "routinglanguages",
    };
    let base = format!("/api/v2/users/{id}/{segment}");
    let collection = kind.collection();
    let body = match kind {
        Kind::Skill => {
            let all = held
                .into_iter()
                .map(|(name, k, proficiency)| UserRoutingSkill {
                    self_uri: format!("{base}/{k}"),
                    skill_uri: format!("{collection}/{k}"),
                    id: k,
                    name,
                    proficiency,
                    state: "active".into(),
                })
                .collect();
            axum::Json(listing(all, &p, &base)).into_response()
        }
        Kind::Language => {
            let all = held
                .into_iter()
                .map(|(name, k, proficiency)| UserLanguage {
                    self_uri: format!("{base}/{k}"),
                    language_uri: format!("{collection}/{k}"),
                    id: k,
                    name,
                    proficiency,
                    state: "active".into(),
                })
                .collect();
            axum::Json(listing(all, &p, &base)).into_response()
        }
    };
    Ok(body)
}
