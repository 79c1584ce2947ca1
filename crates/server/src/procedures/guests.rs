//! claimGuestConversations: a guest's conversations go to the known customer
//! the guest became, when the caller proves it speaks for the guest's browser.

use connect360_api::{self as api, ClaimGuestConversationsInput, ClaimGuestConversationsOutput};
use time::OffsetDateTime;

use super::{Ctx, Handle};
use crate::domain::Permission;
use crate::error::ApiError;
use crate::session::is_guest_id;
use crate::store::GuestClaim;
use crate::validate::{self, MAX_ID};
use crate::visitor_token::{TokenError, TokenSigner};

const MIN_FINGERPRINT: usize = 8;

impl Handle for api::ClaimGuestConversations {
    const PERMISSION: Permission = Permission::Engage;

    async fn handle(
        ctx: &Ctx<'_>,
        input: ClaimGuestConversationsInput,
    ) -> Result<ClaimGuestConversationsOutput, ApiError> {
        let actor = ctx.actor()?;
        let fingerprint = input.fingerprint.trim();
        if fingerprint.chars().count() < MIN_FINGERPRINT {
            return Err(ApiError::invalid("fingerprint", format!("at least {MIN_FINGERPRINT} characters")));
        }
        let customer = validate::customer(input.customer_id.as_deref(), input.customer.as_ref())?
            .ok_or_else(|| ApiError::invalid("customerId", "one of customerId or customer is required"))?;
        let guest_external_id =
            input.guest_external_id.as_deref().map(|e| validate::text("guestExternalId", e, MAX_ID)).transpose()?;
        let conversation_id = input
            .guest_local_conversation_id
            .as_deref()
            .map(|id| validate::id("guestLocalConversationId", id))
            .transpose()?;
        let target_parent_id =
            input.target_parent_id.as_deref().map(|id| validate::id("targetParentId", id)).transpose()?;
        let metadata = input.claim_metadata.unwrap_or_default();
        validate::metadata("claimMetadata", &metadata)?;

        // The fingerprint is the guest's visitor token: its signature (checked
        // in constant time) proves the caller got it from the guest's browser.
        let signer = TokenSigner::new(ctx.store.token_key().await?);
        let guest =
            signer.verify(fingerprint, OffsetDateTime::now_utc().unix_timestamp()).map_err(|err| match err {
                TokenError::Expired => ApiError::invalid("fingerprint", "the guest's session has expired"),
                TokenError::Malformed | TokenError::BadSignature => {
                    ApiError::invalid("fingerprint", "is not a visitor token of this server")
                }
            })?;
        let not_found = || ApiError::not_found("Guest not found.");
        if guest.workspace_id != actor.workspace_id {
            return Err(not_found());
        }
        if guest_external_id.as_ref().is_some_and(|e| *e != guest.external_id) {
            return Err(not_found());
        }
        if !is_guest_id(&guest.external_id) {
            return Err(ApiError::invalid("fingerprint", "names a known visitor, not a guest"));
        }
        let outcome = ctx
            .store
            .claim_guest_conversations(GuestClaim {
                workspace_id: actor.workspace_id,
                guest_customer_id: guest.customer_id,
                conversation_id,
                customer,
                target_parent_id,
                metadata,
            })
            .await?;
        Ok(ClaimGuestConversationsOutput { claimed: outcome.claimed, reparented: outcome.reparented })
    }
}
