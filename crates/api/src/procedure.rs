//! The procedures of the API: each one's path, kind, input and output.
//!
//! The server dispatches on these and the widget's client calls through
//! them, so a path or a type can't drift between the two.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::*;

/// Queries are sent as GET, mutations as POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcedureKind {
    Query,
    Mutation,
}

pub trait Procedure {
    const PATH: &'static str;
    const KIND: ProcedureKind;
    type Input: Serialize + DeserializeOwned + Send + 'static;
    type Output: Serialize + DeserializeOwned + Send + 'static;
}

/// `{"result":{"data":…}}`: the body of a call that succeeded (a failed
/// one answers an [`ErrorEnvelope`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrpcSuccess<T> {
    pub result: TrpcResult<T>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrpcResult<T> {
    pub data: T,
}

impl<T> TrpcSuccess<T> {
    /// Where the output sits in the JSON: a client that reads it in place
    /// (the widget, to keep one decoder per output) reads it here.
    pub const DATA_PATH: [&str; 2] = ["result", "data"];
}

macro_rules! procedures {
    ($($(#[$doc:meta])* $name:ident = $path:literal, $kind:ident, $input:ty => $output:ty;)*) => {
        /// Every procedure's path, in the order of [`for_each_procedure`].
        pub const PROCEDURE_PATHS: &[&str] = &[$($path),*];
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Procedure for $name {
                const PATH: &'static str = $path;
                const KIND: ProcedureKind = ProcedureKind::$kind;
                type Input = $input;
                type Output = $output;
            }
        )*
    };
}

/// The procedures, declared once: `for_each_procedure!(m)` calls `m!` with
/// every procedure as `Name = "path", Kind, Input => Output;`, so that
/// another crate (the server's dispatch table) covers each of them.
#[macro_export]
macro_rules! for_each_procedure {
    ($callback:ident) => {
        $callback! {
            /// Returns the matching customer's top-level conversation, or creates one.
            GetOrCreateConversation = "v1.connect.getOrCreateConversation", Mutation,
                GetOrCreateConversationInput => Conversation;
            CreateSubConversation = "v1.connect.createSubConversation", Mutation,
                CreateSubConversationInput => Conversation;
            UpdateConversation = "v1.connect.updateConversation", Mutation,
                UpdateConversationInput => Conversation;
            DeleteConversation = "v1.connect.deleteConversation", Mutation,
                DeleteConversationInput => DeleteConversationOutput;
            /// Stops AI replies in a conversation: a person takes over.
            HandOff = "v1.connect.handOff", Mutation, HandOffInput => Conversation;
            SendMessage = "v1.connect.send", Mutation, SendInput => Message;
            ListMessages = "v1.connect.listMessages", Query, ListMessagesInput => Page<Message>;
            CreateTemplate = "v1.connect.createTemplate", Mutation, CreateTemplateInput => Template;
            /// The workspace's conversations for the inbox, newest activity first.
            ListConversations = "v1.connect.listConversations", Query,
                ListConversationsInput => Page<ConversationSummary>;
            /// The caller has read a conversation up to a message.
            MarkRead = "v1.connect.markRead", Mutation, MarkReadInput => MarkReadOutput;
            /// Turns AI replies back on after a hand-off.
            ResumeAi = "v1.connect.resumeAi", Mutation, ResumeAiInput => Conversation;
            /// Moves a guest's conversations to the known customer they became.
            ClaimGuestConversations = "v1.connect.claimGuestConversations", Mutation,
                ClaimGuestConversationsInput => ClaimGuestConversationsOutput;
        }
    };
}

for_each_procedure!(procedures);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_wraps_the_output_in_result_data() {
        let ok = TrpcSuccess { result: TrpcResult { data: HandOffInput { conversation_id: "c1".into() } } };
        let json = serde_json::to_value(&ok).unwrap();
        assert_eq!(json, serde_json::json!({"result": {"data": {"conversationId": "c1"}}}));
        let [outer, inner] = TrpcSuccess::<HandOffInput>::DATA_PATH;
        assert_eq!(json[outer][inner], serde_json::json!({"conversationId": "c1"}));
        assert_eq!(serde_json::from_value::<TrpcSuccess<HandOffInput>>(json).unwrap(), ok);
    }
}
