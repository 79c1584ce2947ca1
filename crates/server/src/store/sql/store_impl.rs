//! The [`Store`] of a backend: each method is its resource module's function.

use super::*;

#[async_trait]
impl Store for Backend {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn customer(&self, workspace_id: &str, id: &str) -> Result<Option<CustomerSummary>> {
        customers::customer(self, workspace_id, id).await
    }

    async fn get_or_create_conversation(&self, req: NewConversation) -> Result<Conversation> {
        conversations::get_or_create_conversation(self, req).await
    }

    async fn create_sub_conversation(&self, req: NewSubConversation) -> Result<Conversation> {
        conversations::create_sub_conversation(self, req).await
    }

    async fn update_conversation(&self, req: ConversationUpdate) -> Result<Conversation> {
        conversations::update_conversation(self, req).await
    }

    async fn delete_conversation(&self, workspace_id: &str, id: &str) -> Result<DeleteConversationOutput> {
        conversations::delete_conversation(self, workspace_id, id).await
    }

    async fn hand_off(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        only_customer: Option<&str>,
    ) -> Result<Conversation> {
        conversations::hand_off(self, workspace_id, conversation_id, only_customer).await
    }

    async fn send(&self, msg: NewMessage) -> Result<Message> {
        Ok(match self.sends.write(msg).await? {
            Sent::New(stored) => stored.message,
            Sent::Again(message) => message,
        })
    }

    async fn list_messages(&self, req: PageRequest) -> Result<Page<Message>> {
        messages::list_messages(self, req).await
    }

    async fn list_conversations(
        &self,
        req: ConversationsRequest,
    ) -> Result<(Vec<ConversationSummary>, Option<ActivityCursor>)> {
        inbox::list_conversations(self, req).await
    }

    async fn claim_guest_conversations(&self, claim: GuestClaim) -> Result<ClaimOutcome> {
        claims::claim_guest_conversations(self, claim).await
    }

    async fn message_cursor(
        &self,
        workspace_id: &str,
        topic: &Topic,
        only_customer: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> Result<MessageCursor> {
        messages::message_cursor(self, workspace_id, topic, only_customer, after).await
    }

    async fn stored_message(&self, workspace_id: &str, id: &str) -> Result<Option<StoredMessage>> {
        messages::stored_message(self, workspace_id, id).await
    }

    async fn messages_after(&self, cursor: &MessageCursor, limit: u32) -> Result<Vec<StoredMessage>> {
        messages::messages_after(self, cursor, limit).await
    }

    async fn mark_read(
        &self,
        workspace_id: &str,
        member_id: &str,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<ReadMark> {
        members::mark_read(self, workspace_id, member_id, conversation_id, message_id).await
    }

    async fn resume_ai(&self, workspace_id: &str, conversation_id: &str) -> Result<Conversation> {
        conversations::resume_ai(self, workspace_id, conversation_id).await
    }

    async fn create_template(&self, workspace_id: &str, name: &str, content: &Content) -> Result<Template> {
        templates::create_template(self, workspace_id, name, content).await
    }

    async fn template(&self, workspace_id: &str, id: &str) -> Result<Option<Template>> {
        templates::template(self, workspace_id, id).await
    }

    async fn ensure_workspace(&self, slug: &str, name: &str) -> Result<Workspace> {
        workspaces::ensure_workspace(self, slug, name).await
    }

    async fn create_member(&self, member: &NewMember) -> Result<String> {
        members::create_member(self, member).await
    }

    async fn set_password(&self, workspace_id: &str, email: &str, password_hash: &str) -> Result<()> {
        members::set_password(self, workspace_id, email, password_hash).await
    }

    async fn member_by_email(&self, slug: &str, email: &str) -> Result<Option<MemberAccount>> {
        members::member_by_email(self, slug, email).await
    }

    async fn create_session(
        &self,
        token_hash: &[u8; 32],
        member_id: &str,
        now_ms: i64,
        expired_before_ms: i64,
    ) -> Result<()> {
        members::create_session(self, token_hash, member_id, now_ms, expired_before_ms).await
    }

    async fn session(&self, token_hash: &[u8; 32]) -> Result<Option<StoredSession>> {
        members::session(self, token_hash).await
    }

    async fn touch_session(&self, token_hash: &[u8; 32], now_ms: i64) -> Result<()> {
        members::touch_session(self, token_hash, now_ms).await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        members::delete_session(self, token_hash).await
    }

    async fn create_api_key(
        &self,
        workspace_id: &str,
        member_id: &str,
        name: &str,
        role: Role,
        key_hash: &[u8; 32],
    ) -> Result<String> {
        workspaces::create_api_key(self, workspace_id, member_id, name, role, key_hash).await
    }

    async fn find_api_key(&self, key_hash: &[u8; 32]) -> Result<Option<MemberPrincipal>> {
        workspaces::find_api_key(self, key_hash).await
    }

    async fn token_key(&self) -> Result<[u8; 32]> {
        workspaces::token_key(self).await
    }

    async fn create_widget(
        &self,
        workspace_id: &str,
        label: Option<&str>,
        domains: &[Domain],
        identity_secret: Option<&str>,
    ) -> Result<Widget> {
        widgets::create_widget(self, workspace_id, label, domains, identity_secret).await
    }

    async fn widget_by_key(&self, public_key: &str) -> Result<Option<Widget>> {
        widgets::widget_by_key(self, public_key).await
    }

    async fn is_widget_domain(&self, host: &str) -> Result<bool> {
        widgets::is_widget_domain(self, host).await
    }

    async fn create_agent(
        &self,
        workspace_id: &str,
        name: &str,
        image: Option<&str>,
        config: &AgentConfig,
    ) -> Result<String> {
        agents::create_agent(self, workspace_id, name, image, config).await
    }

    async fn ensure_agent(
        &self,
        workspace_id: &str,
        name: &str,
        image: Option<&str>,
        config: &AgentConfig,
    ) -> Result<String> {
        agents::ensure_agent(self, workspace_id, name, image, config).await
    }

    async fn claim_ai_requests(&self, claimant: &str, lease: Duration, limit: usize) -> Result<AiClaims> {
        ai::claim_ai_requests(self, claimant, lease, limit).await
    }

    async fn renew_ai_claims(&self, claimant: &str, lease: Duration) -> Result<()> {
        ai::renew_ai_claims(self, claimant, lease).await
    }

    async fn ai_job(&self, request_id: &str, history: u32) -> Result<Option<AiJob>> {
        ai::ai_job(self, request_id, history).await
    }

    async fn finish_ai_request(
        &self,
        request_id: &str,
        outcome: AiOutcome,
        reply: NewMessage,
    ) -> Result<Option<Message>> {
        ai::finish_ai_request(self, request_id, outcome, reply).await
    }

    async fn ai_reply_state(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        only_customer: Option<&str>,
        after: Option<&str>,
    ) -> Result<AiReplyState> {
        ai::ai_reply_state(self, workspace_id, conversation_id, only_customer, after).await
    }

    async fn insert_files(&self, files: &[NewFile]) -> Result<()> {
        files::insert_files(self, files).await
    }

    async fn file_by_key(&self, storage_key: &str) -> Result<Option<StoredFile>> {
        files::file_by_key(self, storage_key).await
    }

    async fn remove_unused_files(&self, ids: &[String]) -> Result<()> {
        files::remove_unused_files(self, ids).await
    }

    async fn remove_expired_unused_files(&self, older_than: Duration) -> Result<Vec<String>> {
        files::remove_expired_unused_files(self, older_than).await
    }

    async fn run_exclusively(&self, job: Exclusive, work: ExclusiveWork<'_>) -> Result<bool> {
        run_exclusively(self, job, work).await
    }

    async fn release_memory(&self) -> Result<()> {
        release_memory(self).await
    }
}
