//! Who is acting, and from where.

use crate::error::{ServiceError, ServiceResult};
use praxis_domain::integrations::KeyGrant;
use praxis_domain::{Permission, Role, Roles, SessionId, UserId, permissions::Scope};

/// Where a request came from; copied into audit rows.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The request id (also in logs and response headers).
    pub request_id: Option<String>,
    /// The client's address.
    pub client_ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
}

/// The authenticated user behind a call (or the system itself for command-line and
/// background work). Every mutating service function takes one.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The user, or `None` for the system.
    pub user_id: Option<UserId>,
    /// Email of the user, or `cli`/`system`.
    pub label: String,
    /// The user's full name (for greeting and display).
    pub name: String,
    /// What the actor may do.
    pub roles: Roles,
    /// The session the request came with.
    pub session_id: Option<SessionId>,
    /// Request details for audit rows.
    pub ctx: RequestContext,
    /// An operational alert for an administrator to see on every page (a failed backup,
    /// no recent good backup), filled in by the web layer for administrators.
    pub attention: Option<String>,
    /// Set when the caller is an integration using an API key: what the key may do.
    /// Every permission check then goes through the key's grant, not the role's.
    pub key: Option<KeyActor>,
}

/// The API key behind a request.
#[derive(Clone, Copy, Debug)]
pub struct KeyActor {
    /// The key's id.
    pub id: uuid::Uuid,
    /// What it may do.
    pub grant: KeyGrant,
}

impl Actor {
    /// The system acting on its own (command line, background jobs): full rights,
    /// recorded in the audit log under `label`.
    pub fn system(label: &str) -> Self {
        Actor {
            user_id: None,
            label: label.into(),
            name: label.into(),
            roles: Roles::of(&[Role::Admin]),
            session_id: None,
            ctx: RequestContext::default(),
            attention: None,
            key: None,
        }
    }

    /// Someone not logged in (a failed login attempt); no rights at all.
    pub fn anonymous(label: &str, ctx: RequestContext) -> Self {
        Actor {
            user_id: None,
            label: label.into(),
            name: label.into(),
            roles: Roles::default(),
            session_id: None,
            ctx,
            attention: None,
            key: None,
        }
    }

    /// The scope of `p` for this actor, or `None`: the roles' grant for a person, the
    /// key's (narrower) grant for an integration.
    pub fn scope(&self, p: Permission) -> Option<Scope> {
        match &self.key {
            Some(k) => k.grant.scope(p),
            None => self.roles.scope(p),
        }
    }

    /// The scope of `p` for this actor, or 403.
    pub fn require(&self, p: Permission) -> ServiceResult<Scope> {
        self.scope(p).ok_or(ServiceError::Forbidden)
    }

    /// True when the actor may do `p` at all.
    pub fn can(&self, p: Permission) -> bool {
        self.scope(p).is_some()
    }

    /// For permissions that both read and change ([`praxis_domain::integrations::Effect::Both`]):
    /// 403 when the caller is a read-only API key and is about to change something.
    pub fn require_change(&self, p: Permission) -> ServiceResult<Scope> {
        let scope = self.require(p)?;
        if self.key.is_some_and(|k| k.grant.read_only) {
            return Err(ServiceError::Forbidden);
        }
        Ok(scope)
    }

    /// The actor's user id, or 403 for the system (which has no account).
    pub fn user(&self) -> ServiceResult<UserId> {
        self.user_id.ok_or(ServiceError::Forbidden)
    }
}
