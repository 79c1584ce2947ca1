//! Attachments: uploads streamed to file storage, private downloads, and the
//! removal of files that no message ever used.

pub mod download;
pub mod gc;
pub mod location;
pub mod name;
pub mod range;
pub mod s3;
pub mod sniff;
pub mod storage;
pub mod upload;
pub mod url;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use connect360_api::ATTACHMENTS_PATH;

use crate::auth::{Authenticator, Principal};
use crate::domain::Permission;
use crate::store::{Store, StoredFile, Uploader};

/// Uploads and downloads. Uploads take as long as the client's connection
/// needs: the application's request timeout is for the other routes.
pub fn uploads<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Store>: FromRef<S>,
    Authenticator: FromRef<S>,
    Arc<dyn storage::FileStorage>: FromRef<S>,
    upload::SpoolDir: FromRef<S>,
    url::UrlSigner: FromRef<S>,
    crate::limits::Limits: FromRef<S>,
{
    Router::new().route(ATTACHMENTS_PATH, post(upload::handle).layer(DefaultBodyLimit::max(upload::BODY_LIMIT)))
}

pub fn downloads<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Store>: FromRef<S>,
    Authenticator: FromRef<S>,
    Arc<dyn storage::FileStorage>: FromRef<S>,
    url::UrlSigner: FromRef<S>,
{
    Router::new().route("/api/v1/connect/assets/{*key}", get(download::handle))
}

/// Whether this customer uploaded the file or has it in their conversation.
pub fn customer_may_read(file: &StoredFile, customer_id: &str) -> bool {
    matches!(&file.uploader, Uploader::Customer(id) if id == customer_id)
        || file.conversation_customer_id.as_deref() == Some(customer_id)
}

/// API keys read their workspace's files; visitors what [`customer_may_read`] allows.
pub fn may_read(file: &StoredFile, principal: &Principal) -> bool {
    principal.require(Permission::Read).is_ok()
        && principal.workspace_id() == file.workspace_id
        && match principal {
            Principal::Member(_) => true,
            Principal::Visitor(v) => customer_may_read(file, &v.customer_id),
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Credential, MemberPrincipal, Role};
    use crate::visitor_token::VisitorClaims;

    fn file(uploader: Uploader, conversation_customer_id: Option<&str>) -> StoredFile {
        StoredFile {
            id: "file_1".into(),
            workspace_id: "ws_1".into(),
            storage_key: "ws_1/file_1/a.png".into(),
            name: "a.png".into(),
            media_type: "image/png".into(),
            size: 1,
            uploader,
            conversation_customer_id: conversation_customer_id.map(str::to_owned),
        }
    }

    fn member(workspace_id: &str, role: Role) -> Principal {
        Principal::Member(MemberPrincipal {
            workspace_id: workspace_id.into(),
            member_id: "mem_1".into(),
            role,
            via: Credential::ApiKey,
        })
    }

    fn visitor(workspace_id: &str, customer_id: &str) -> Principal {
        Principal::Visitor(VisitorClaims {
            workspace_id: workspace_id.into(),
            customer_id: customer_id.into(),
            external_id: "guest_x".into(),
            widget_id: "wid_1".into(),
            domain: "example.com".into(),
            channel_id: "chan_1".into(),
            expires_at: i64::MAX,
        })
    }

    #[test]
    fn keys_read_their_own_workspace_only() {
        let f = file(Uploader::Member("mem_2".into()), None);
        assert!(may_read(&f, &member("ws_1", Role::Read)));
        assert!(may_read(&f, &member("ws_1", Role::Engage)));
        assert!(!may_read(&f, &member("ws_2", Role::Full)));
    }

    #[test]
    fn visitors_read_their_uploads_and_their_conversation_s_files() {
        let theirs = file(Uploader::Customer("cus_1".into()), None);
        assert!(may_read(&theirs, &visitor("ws_1", "cus_1")));
        assert!(!may_read(&theirs, &visitor("ws_1", "cus_2")));
        let sent_to_them = file(Uploader::Member("mem_1".into()), Some("cus_2"));
        assert!(may_read(&sent_to_them, &visitor("ws_1", "cus_2")));
        assert!(!may_read(&sent_to_them, &visitor("ws_1", "cus_1")));
        assert!(!may_read(&sent_to_them, &visitor("ws_2", "cus_2")), "a token of another workspace");
    }
}
