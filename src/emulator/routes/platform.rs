//! Platform (non-SCIM) endpoints later work needs: `GET /api/v2/routing/skills`
//! (paged, `name` prefix filter) and `GET /api/v2/users/{id}/routingskills`.

use axum::extract::{Extension, Path, RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::emulator::errors::ApiError;
use crate::emulator::permissions;
use crate::emulator::state::Caller;
use crate::scim::model::{EntityListing, RoutingSkill, UserRoutingSkill};

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

/// `GET /api/v2/routing/skills`
pub(crate) async fn skills(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::SKILL_VIEW])?;
    let p = paging(q.as_deref())?;
    let prefix = p
        .name
        .as_deref()
        .map(|n| n.trim_end_matches('*').to_lowercase());
    let all: Vec<RoutingSkill> = s
        .cat
        .skills
        .iter()
        .filter(|k| {
            prefix
                .as_deref()
                .is_none_or(|pre| k.name.to_lowercase().starts_with(pre))
        })
        .map(|k| RoutingSkill {
            id: k.id.to_string(),
            name: k.name.clone(),
            state: "active".into(),
            self_uri: format!("/api/v2/routing/skills/{}", k.id),
        })
        .collect();
    Ok(axum::Json(listing(all, &p, "/api/v2/routing/skills")).into_response())
}

/// `GET /api/v2/users/{id}/routingskills`
pub(crate) async fn user_skills(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::SKILL_ASSIGN])?;
    let p = paging(q.as_deref())?;
    let user = {
        let store = s.store.read();
        let idx = store
            .find(&id)
            .ok_or_else(|| ApiError::not_found(format!("User {id} was not found.")))?;
        store.writable(idx)
    };
    let mut all: Vec<UserRoutingSkill> = user
        .genesys
        .map(|g| g.routing_skills)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            let k = s.cat.skills.iter().find(|k| k.name == r.name)?;
            Some(UserRoutingSkill {
                id: k.id.to_string(),
                name: k.name.clone(),
                proficiency: r.proficiency,
                state: "active".into(),
                skill_uri: format!("/api/v2/routing/skills/{}", k.id),
                self_uri: format!("/api/v2/users/{id}/routingskills/{}", k.id),
            })
        })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(axum::Json(listing(
        all,
        &p,
        &format!("/api/v2/users/{id}/routingskills"),
    ))
    .into_response())
}
