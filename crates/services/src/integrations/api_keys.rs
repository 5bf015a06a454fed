//! API keys: created by an administrator for one integration, shown once, stored as a
//! SHA-256, revocable, with the time and address of their last use. A request made with
//! a key acts with the key's grant ([`KeyGrant`]) and is audited under the key's name.

use crate::Services;
use crate::actor::{Actor, KeyActor, RequestContext};
use crate::auth::token_hash;
use crate::error::{ServiceError, ServiceResult};
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use praxis_domain::integrations::{KeyArea, KeyGrant};
use praxis_domain::{Permission, Role, Roles, Validation};
use praxis_store::integrations::api_keys::{self, ApiKeyRow, NewApiKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every key starts with this, so secret scanners and people recognise one.
pub const KEY_PREFIX: &str = "pxk_";

/// How often a key in use records its last use.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// Whether a key may change data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyAccess {
    /// Reads only: any change is refused with 403.
    Read,
    /// Reads and changes, within the key's areas and role.
    ReadWrite,
}

/// An API key as administrators see it (never the key itself).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// Id.
    pub id: Uuid,
    /// What it is for.
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    /// The role whose grants the key uses.
    pub role: Role,
    /// Read-only or read-write.
    pub access: KeyAccess,
    /// The areas it may use.
    pub areas: Vec<KeyArea>,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Who created it.
    pub created_by: Option<String>,
    /// Its last use (recorded at most once a minute).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    /// Where its last use came from.
    pub last_used_ip: Option<String>,
    /// When it was revoked; a revoked key is refused with 401.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    fn from_row(r: ApiKeyRow) -> ServiceResult<Self> {
        let grant = grant_of(&r)?;
        Ok(ApiKey {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            role: grant.role,
            access: if grant.read_only { KeyAccess::Read } else { KeyAccess::ReadWrite },
            areas: grant.areas(),
            created_at: r.created_at.0,
            created_by: r.created_by_name,
            last_used_at: r.last_used_at.map(|t| t.0),
            last_used_ip: r.last_used_ip,
            revoked_at: r.revoked_at.map(|t| t.0),
        })
    }
}

fn label(prefix: &str, name: &str) -> String {
    format!("api-key {prefix}… ({name})")
}

fn grant_of(r: &ApiKeyRow) -> ServiceResult<KeyGrant> {
    let role: Role = r.role.parse().map_err(ServiceError::Internal)?;
    let areas = KeyGrant::parse_areas(&r.areas).map_err(ServiceError::Internal)?;
    KeyGrant::new(role, r.read_only, &areas).map_err(ServiceError::Internal)
}

/// What an administrator fills in to create a key.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ApiKeyInput {
    /// What the key is for ("Lab results import"); 1–100 characters.
    #[serde(default)]
    pub name: String,
    /// `admin` or `staff`: whose grants the key uses.
    #[serde(default)]
    pub role: String,
    /// `read` or `read_write`.
    #[serde(default)]
    pub access: String,
    /// The areas it may use: directory, scheduling, patients, clinical, billing,
    /// messages, audit.
    #[serde(default)]
    pub areas: Vec<String>,
}

/// A new key: the key itself is in `token`, shown this once and never again.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    /// The key as stored.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The key to give the integration (`Authorization: Bearer pxk_…`).
    pub token: String,
}

fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{KEY_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl Services {
    /// Every API key, newest first, revoked ones included. Administrators only.
    pub async fn list_api_keys(&self, actor: &Actor) -> ServiceResult<Vec<ApiKey>> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        api_keys::list(self.db()).await?.into_iter().map(ApiKey::from_row).collect()
    }

    /// Creates a key. Its value is returned this once; only its hash is kept.
    pub async fn create_api_key(&self, actor: &Actor, input: &ApiKeyInput) -> ServiceResult<CreatedApiKey> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        let mut v = Validation::new();
        let name = v.required("name", &input.name, 100);
        let role = v.check("role", input.role.parse::<Role>());
        let read_only = match input.access.trim() {
            "read" => Some(true),
            "read_write" => Some(false),
            _ => {
                v.add("access", "invalid", "Choose read (the key changes nothing) or read_write.");
                None
            }
        };
        let areas = match input.areas.iter().map(|a| a.parse::<KeyArea>()).collect::<Result<Vec<_>, _>>() {
            Ok(a) => Some(a),
            Err(e) => {
                v.add("areas", "invalid", e);
                None
            }
        };
        let grant = match (role, read_only, &areas) {
            (Some(role), Some(ro), Some(areas)) => match KeyGrant::new(role, ro, areas) {
                Ok(g) => Some(g),
                Err(e) => {
                    v.add(if areas.is_empty() { "areas" } else { "role" }, "invalid", e);
                    None
                }
            },
            _ => None,
        };
        v.finish()?;
        let (Some(name), Some(grant)) = (name, grant) else {
            return Err(ServiceError::Internal("validated key input incomplete".into()));
        };
        let token = new_key();
        let now = self.now();
        let row = NewApiKey {
            id: Uuid::now_v7(),
            name,
            prefix: token.chars().take(KEY_PREFIX.len() + 8).collect(),
            token_hash: token_hash(&token),
            role: grant.role.as_str().into(),
            read_only: grant.read_only,
            areas: grant.areas_text(),
            created_by: actor.user_id,
        };
        let mut tx = self.db().begin().await?;
        api_keys::insert(&mut tx, &row, now).await?;
        tx.audit(self.audit_entry(
            actor,
            "api_key.create",
            "api_key",
            Some(row.id.to_string()),
            format!(
                "{} key {:?} ({}, {})",
                if grant.read_only { "read-only" } else { "read-write" },
                row.name,
                grant.role,
                row.areas
            ),
        ));
        tx.commit().await?;
        let key = api_keys::get(self.db(), row.id).await?.ok_or(ServiceError::NotFound { what: "API key" })?;
        Ok(CreatedApiKey { key: ApiKey::from_row(key)?, token })
    }

    /// Revokes a key: every later request with it is refused (401, audited).
    pub async fn revoke_api_key(&self, actor: &Actor, id: Uuid) -> ServiceResult<ApiKey> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        let key = api_keys::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "API key" })?;
        let mut tx = self.db().begin().await?;
        if api_keys::revoke(&mut tx, id, actor.user_id, self.now()).await? {
            tx.audit(self.audit_entry(
                actor,
                "api_key.revoke",
                "api_key",
                Some(id.to_string()),
                format!("key {:?} revoked", key.name),
            ));
        }
        tx.commit().await?;
        let key = api_keys::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "API key" })?;
        ApiKey::from_row(key)
    }

    /// Resolves an API key to the integration acting with it; 401 (audited) when the key
    /// is unknown or revoked.
    pub(crate) async fn authenticate_key(&self, token: &str, ctx: RequestContext) -> ServiceResult<Actor> {
        let row = api_keys::by_hash(self.db(), &token_hash(token)).await?;
        let row = match row {
            Some(r) if r.revoked_at.is_none() => r,
            refused => {
                let (id, why) = match &refused {
                    Some(r) => (Some(r.id.to_string()), format!("revoked key {}", label(&r.prefix, &r.name))),
                    None => (None, "unknown key".to_string()),
                };
                let mut tx = self.db().begin().await?;
                tx.audit(self.audit_entry(&Actor::anonymous("api-key", ctx), "api_key.rejected", "api_key", id, why));
                tx.commit().await?;
                return Err(ServiceError::Unauthenticated);
            }
        };
        let grant = grant_of(&row)?;
        let now = self.now();
        if row.last_used_at.is_none_or(|t| now.duration_since(t.0) >= TOUCH_EVERY) {
            let mut tx = self.db().begin().await?;
            api_keys::touch(&mut tx, row.id, now, ctx.client_ip.clone()).await?;
            tx.commit().await?;
        }
        Ok(Actor {
            user_id: None,
            label: label(&row.prefix, &row.name),
            name: row.name,
            roles: Roles::of(&[grant.role]),
            session_id: None,
            ctx,
            attention: None,
            key: Some(KeyActor { id: row.id, grant }),
        })
    }

    /// Records that a request made with an API key was refused because the key may not
    /// do it (403): which key, which request. The web layer calls it for every such
    /// refusal, so probing with a narrow key leaves a trail.
    pub async fn record_key_refusal(&self, actor: &Actor, request: &str) {
        let Some(key) = actor.key else { return };
        let write = async {
            let mut tx = self.db().begin().await?;
            tx.audit(self.audit_entry(
                actor,
                "api_key.refused",
                "api_key",
                Some(key.id.to_string()),
                format!("{request}: outside the key's grant"),
            ));
            tx.commit().await
        };
        if let Err(e) = write.await {
            tracing::error!(error = %e, "could not audit a refused API key request");
        }
    }
}

/// True when a bearer token is an API key rather than a session token.
pub fn is_api_key(token: &str) -> bool {
    token.starts_with(KEY_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_recognisable_and_only_hashed() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        assert!(is_api_key(&a) && a.len() == KEY_PREFIX.len() + 43);
        assert!(!is_api_key("pxs_session"));
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn labels_name_the_key_without_revealing_it() {
        assert_eq!(label("pxk_abcdefgh", "Lab import"), "api-key pxk_abcdefgh… (Lab import)");
    }

    #[test]
    fn stored_grants_round_trip() {
        let r = |role: &str, areas: &str| ApiKeyRow {
            id: Uuid::nil(),
            name: "x".into(),
            prefix: "pxk_".into(),
            role: role.into(),
            read_only: true,
            areas: areas.into(),
            created_at: praxis_store::DbTime(Timestamp::UNIX_EPOCH),
            created_by_name: None,
            last_used_at: None,
            last_used_ip: None,
            revoked_at: None,
        };
        let g = grant_of(&r("staff", "billing,directory")).unwrap();
        assert_eq!(g.areas(), vec![KeyArea::Directory, KeyArea::Billing]);
        assert!(grant_of(&r("patient", "billing")).is_err());
        assert!(grant_of(&r("staff", "")).is_err());
    }
}
