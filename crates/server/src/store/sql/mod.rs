//! The resource modules of the SQL backends. Each backend includes this
//! module (`#[path]`) after naming its `Db`, `Conn` and `Backend` types and
//! giving `Backend` `writer`/`reader` pools, `sends`, `events` (where it
//! publishes what it commits, if anywhere) and `write()`, plus `begin_write`,
//! `json_values`, `json_rows`, `json_array_agg`, `json_of` and `hex_bytes`:
//! so one text of every query and of the code around it serves SQLite and
//! PostgreSQL alike. Queries use `$N` parameters (both accept them) and SQL
//! both speak.

use std::time::Duration;

use connect360_api::{
    Attachment, Channel, ChannelType, Content, Conversation, ConversationType, DeleteConversationOutput, Message,
    Metadata, Page, Patch, Sender, SenderType, Template,
};

use super::group_commit::{Batch, BeginFn, GroupCommit};
use super::*;
use crate::domain::files::asset_path;
use crate::domain::{
    AgentConfig, Credential, CustomerFields, CustomerKey, CustomerRef, Domain, MAX_METADATA_BYTES, MemberPrincipal,
    Role,
};
use crate::hub::{Event, EventBus, StoredMessage, Topic};
use crate::{clock, ids};

mod agents;
mod ai;
mod channels;
mod claims;
mod columns;
mod conversations;
mod customers;
mod files;
mod inbox;
mod members;
mod messages;
mod store_impl;
mod support;
mod templates;
mod widgets;
mod workspaces;

pub(super) use self::columns::*;
pub(super) use self::support::{Sent, group_commit};
// The helpers that more than one resource uses.
use self::{agents::*, channels::*, conversations::*, customers::*, messages::*, support::*};
