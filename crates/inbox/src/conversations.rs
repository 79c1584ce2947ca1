//! The conversation list as the inbox shows it: pages of
//! `listConversations` merged by id, newest activity first, kept current by
//! the member stream's messages and by read marks.

use connect360_api::{ConversationSummary, Message, Page, SenderType};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationList {
    /// Newest activity first, each id once.
    items: Vec<ConversationSummary>,
    /// The cursor of the next older page; `None` once the oldest is loaded
    /// (or before the first page).
    older: Option<String>,
    loaded: bool,
}

/// What a stream message did to the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Its conversation moved to the top (its unread count raised when the
    /// customer wrote it and it is not the one open).
    Moved,
    /// Already shown (a stream resumed): nothing changed.
    Known,
    /// A conversation the list does not hold: the newest page is due.
    Unknown,
}

fn newer(a: &Message, b: &Message) -> bool {
    (a.created_at.as_str(), a.id.as_str()) > (b.created_at.as_str(), b.id.as_str())
}

impl ConversationList {
    pub fn items(&self) -> &[ConversationSummary] {
        &self.items
    }

    /// Whether the first page has come.
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    pub fn older_cursor(&self) -> Option<&str> {
        self.older.as_deref()
    }

    pub fn get(&self, id: &str) -> Option<&ConversationSummary> {
        self.items.iter().find(|c| c.id == id)
    }

    /// Takes the newest page in: its conversations replace their older
    /// copies; those paged in before stay (and the cursor onwards from them).
    pub fn apply_newest(&mut self, page: Page<ConversationSummary>) {
        if !self.loaded {
            self.older = page.next_cursor.clone();
        }
        self.loaded = true;
        self.merge(page.items);
    }

    /// Takes an older page in (loaded with `cursor`; a stale answer is
    /// dropped).
    pub fn apply_older(&mut self, cursor: &str, page: Page<ConversationSummary>) {
        if self.older.as_deref() != Some(cursor) {
            return;
        }
        self.older = page.next_cursor;
        self.merge(page.items);
    }

    fn merge(&mut self, items: Vec<ConversationSummary>) {
        for item in items {
            match self.items.iter_mut().find(|c| c.id == item.id) {
                Some(known) => *known = item,
                None => self.items.push(item),
            }
        }
        self.sort();
    }

    fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            (b.last_activity_at.as_str(), b.id.as_str()).cmp(&(a.last_activity_at.as_str(), a.id.as_str()))
        });
    }

    /// A message stored in the workspace (the member stream): its
    /// conversation shows it as the last message and moves to the top.
    /// `open` is the conversation on screen, whose messages are read as
    /// they come.
    pub fn on_message(&mut self, message: &Message, open: Option<&str>) -> Placement {
        let Some(item) = self.items.iter_mut().find(|c| c.id == message.conversation_id) else {
            return Placement::Unknown;
        };
        if item.last_message.as_ref().is_some_and(|last| !newer(message, last)) {
            return Placement::Known;
        }
        if message.sender.kind == SenderType::Customer && open != Some(item.id.as_str()) {
            item.unread_count += 1;
        }
        if message.created_at > item.last_activity_at {
            item.last_activity_at = message.created_at.clone();
        }
        if message.channel.is_some() {
            item.channel = message.channel.clone();
        }
        item.last_message = Some(message.clone());
        self.sort();
        Placement::Moved
    }

    /// The member's read mark moved: the server's count after it.
    pub fn set_unread(&mut self, id: &str, unread: u32) {
        if let Some(item) = self.items.iter_mut().find(|c| c.id == id) {
            item.unread_count = unread;
        }
    }

    /// AI replies were stopped (`Some(when)`) or turned back on (`None`).
    pub fn set_ai_stopped(&mut self, id: &str, at: Option<String>) {
        if let Some(item) = self.items.iter_mut().find(|c| c.id == id) {
            item.ai_stopped_at = at;
        }
    }
}

/// How a conversation is named in the list: its customer's name, else the
/// customer's external id or email, else its own name or id.
pub fn title(c: &ConversationSummary) -> String {
    let shown = |s: &Option<String>| s.clone().filter(|t| !t.trim().is_empty());
    let customer = c.customer.as_ref();
    customer
        .and_then(|p| shown(&p.name).or_else(|| shown(&p.external_id)).or_else(|| shown(&p.email)))
        .or_else(|| shown(&c.name))
        .unwrap_or_else(|| c.id.clone())
}

/// The site it came through (its channel's domain).
pub fn site(c: &ConversationSummary) -> Option<&str> {
    c.channel.as_ref().map(|ch| ch.identifier.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(id: &str, at: &str, unread: u32) -> ConversationSummary {
        serde_json::from_value(json!({
            "id": id, "name": null, "customer": null, "channel": null, "metadata": {},
            "lastMessage": null, "unreadCount": unread, "aiStoppedAt": null,
            "lastActivityAt": format!("2026-12-01T10:00:{at}.000Z"),
        }))
        .unwrap()
    }

    fn message(id: &str, conversation: &str, at: &str, kind: &str) -> Message {
        serde_json::from_value(json!({
            "id": id, "conversationId": conversation, "content": {"en": "hi"}, "attachments": [],
            "sender": {"type": kind, "id": "s1", "name": null, "image": null},
            "parentId": null, "flags": [], "templateId": null,
            "channel": {"id": "ch1", "type": "website", "identifier": "shop.example.com"},
            "createdAt": format!("2026-12-01T10:00:{at}.000Z"), "updatedAt": format!("2026-12-01T10:00:{at}.000Z"),
        }))
        .unwrap()
    }

    fn page(items: Vec<ConversationSummary>, next: Option<&str>) -> Page<ConversationSummary> {
        Page { items, next_cursor: next.map(str::to_owned) }
    }

    fn ids(l: &ConversationList) -> Vec<&str> {
        l.items().iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn pages_merge_newest_first() {
        let mut l = ConversationList::default();
        assert!(!l.loaded());
        l.apply_newest(page(vec![summary("c3", "30", 0), summary("c2", "20", 1)], Some("k1")));
        assert_eq!(l.older_cursor(), Some("k1"));
        l.apply_older("stale", page(vec![summary("cx", "01", 0)], None));
        assert_eq!(ids(&l), ["c3", "c2"], "an answer to another cursor is dropped");
        l.apply_older("k1", page(vec![summary("c1", "10", 0)], None));
        assert_eq!(ids(&l), ["c3", "c2", "c1"]);
        assert_eq!(l.older_cursor(), None);
        // The newest page again: c1 had news; the cursor does not go back.
        l.apply_newest(page(vec![summary("c1", "40", 2), summary("c3", "30", 0)], Some("k2")));
        assert_eq!(ids(&l), ["c1", "c3", "c2"]);
        assert_eq!(l.get("c1").unwrap().unread_count, 2);
        assert_eq!(l.older_cursor(), None);
    }

    #[test]
    fn a_visitor_message_moves_its_conversation_up_and_counts_as_unread() {
        let mut l = ConversationList::default();
        l.apply_newest(page(vec![summary("c2", "20", 0), summary("c1", "10", 0)], None));
        assert_eq!(l.on_message(&message("m1", "c1", "50", "customer"), None), Placement::Moved);
        assert_eq!(ids(&l), ["c1", "c2"]);
        let c1 = l.get("c1").unwrap();
        assert_eq!(c1.unread_count, 1);
        assert_eq!(c1.last_message.as_ref().unwrap().id, "m1");
        assert_eq!(site(c1), Some("shop.example.com"));
        // The same message again (a resumed stream) is not counted twice.
        assert_eq!(l.on_message(&message("m1", "c1", "50", "customer"), None), Placement::Known);
        assert_eq!(l.get("c1").unwrap().unread_count, 1);
        // Open: read as it comes. The team's own messages are never unread.
        l.on_message(&message("m2", "c2", "51", "customer"), Some("c2"));
        l.on_message(&message("m3", "c1", "52", "workspace"), Some("c2"));
        assert_eq!(l.get("c2").unwrap().unread_count, 0);
        assert_eq!(l.get("c1").unwrap().unread_count, 1);
        assert_eq!(ids(&l), ["c1", "c2"]);
        assert_eq!(l.on_message(&message("m4", "c9", "53", "customer"), None), Placement::Unknown);
        l.set_unread("c1", 0);
        assert_eq!(l.get("c1").unwrap().unread_count, 0);
    }

    #[test]
    fn titles_fall_back_from_name_to_external_id_to_id() {
        let mut c = summary("conv_1", "00", 0);
        assert_eq!(title(&c), "conv_1");
        c.customer = Some(
            serde_json::from_value(json!({
                "id": "cu1", "externalId": "guest_7", "name": null, "email": null, "metadata": {}
            }))
            .unwrap(),
        );
        assert_eq!(title(&c), "guest_7");
        c.customer.as_mut().unwrap().name = Some("Ayşe".into());
        assert_eq!(title(&c), "Ayşe");
        c.customer.as_mut().unwrap().name = Some("  ".into());
        assert_eq!(title(&c), "guest_7", "a blank name is no name");
    }
}
