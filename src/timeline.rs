//! The conversation as the panel shows it: stored messages merged by id from
//! the newest page (polls), older pages (history) and send answers, in
//! order, followed by the visitor's messages that are not stored yet.

use connect360_api::{Attachment, Content, Message, Page, Sender, SenderType};

use crate::outbox::{Anchor, Delivery, Outbox};

/// How far back the loaded messages go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum History {
    /// No page loaded yet.
    #[default]
    Unknown,
    /// Older messages exist; this cursor loads them.
    More(String),
    /// The oldest message is loaded.
    Complete,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// Oldest to newest by `(createdAt, id)`, each id once.
    messages: Vec<Message>,
    history: History,
}

/// One bubble.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Stable across the send: the client id for the visitor's own messages.
    pub key: String,
    /// The stored id; `None` while not stored (then it can't be replied to).
    pub id: Option<String>,
    /// `None` for the visitor's unstored messages.
    pub sender: Option<Sender>,
    /// Written by the visitor.
    pub mine: bool,
    pub content: Content,
    pub attachments: Vec<Attachment>,
    pub parent_id: Option<String>,
    /// `None` while not stored.
    pub created_at: Option<String>,
    /// For the visitor's messages sent from this page.
    pub delivery: Option<Delivery>,
}

fn order_key(m: &Message) -> (&str, &str) {
    (m.created_at.as_str(), m.id.as_str())
}

impl Timeline {
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// The cursor of the next older page, if there is one.
    pub fn older_cursor(&self) -> Option<&str> {
        match &self.history {
            History::More(cursor) => Some(cursor),
            _ => None,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.id == id)
    }

    /// Where a message sent now stands: after the newest stored one.
    /// `None` while no page is loaded: any stored message could be newer.
    pub fn anchor(&self) -> Option<Anchor> {
        match (self.messages.last(), &self.history) {
            (Some(m), _) => Some(Anchor::After(m.created_at.clone(), m.id.clone())),
            (None, History::Unknown) => None,
            (None, _) => Some(Anchor::Start),
        }
    }

    /// Adds or replaces one message; whether it was new.
    pub fn insert(&mut self, message: Message) -> bool {
        match self.messages.iter().position(|m| m.id == message.id) {
            Some(i) => {
                // Its `createdAt` may have changed: it goes where it now sorts
                // (moved rather than re-sorted: no sort in the widget).
                self.messages.remove(i);
                self.insert_sorted(message);
                false
            }
            None => {
                self.insert_sorted(message);
                true
            }
        }
    }

    fn insert_sorted(&mut self, message: Message) {
        let at = self.messages.partition_point(|m| order_key(m) < order_key(&message));
        self.messages.insert(at, message);
    }

    /// Merges the newest page (a poll); returns the messages it added.
    ///
    /// When the page shares no message with what is loaded and older pages
    /// lie between them, the loaded messages are replaced by the page: a gap
    /// would otherwise never be filled.
    pub fn apply_latest(&mut self, page: Page<Message>) -> Vec<Message> {
        let overlaps = page.items.iter().any(|m| self.get(&m.id).is_some());
        let gap = !self.messages.is_empty() && !overlaps && page.next_cursor.is_some();
        if gap {
            self.messages.clear();
        }
        if gap || self.history == History::Unknown {
            self.history = match page.next_cursor {
                Some(cursor) => History::More(cursor),
                None => History::Complete,
            };
        }
        let mut added = Vec::new();
        for m in page.items {
            if self.insert(m.clone()) {
                added.push(m);
            }
        }
        added
    }

    /// Merges an older page loaded with `cursor`; how many messages it added.
    /// A page for a cursor that is no longer current (the timeline was reset
    /// meanwhile) is dropped.
    pub fn apply_older(&mut self, cursor: &str, page: Page<Message>) -> usize {
        if self.older_cursor() != Some(cursor) {
            return 0;
        }
        self.history = match page.next_cursor {
            Some(next) => History::More(next),
            None => History::Complete,
        };
        page.items.into_iter().filter(|m| self.insert(m.clone())).count()
    }

    /// The bubbles of the visitor's panel.
    pub fn entries(&self, outbox: &Outbox) -> Vec<Entry> {
        self.entries_as(outbox, SenderType::Customer)
    }

    /// The bubbles as the writer of `own`'s messages sees them (the visitor:
    /// `Customer`; the team inbox: `Workspace`): stored messages (the
    /// writer's sent ones keyed by their client id), then the writer's
    /// unstored messages.
    pub fn entries_as(&self, outbox: &Outbox, own: SenderType) -> Vec<Entry> {
        let stored = self.messages.iter().map(|m| {
            let sent_here = outbox.by_stored_id(&m.id);
            Entry {
                key: sent_here.map_or_else(|| m.id.clone(), |o| o.client_id.clone()),
                id: Some(m.id.clone()),
                mine: m.sender.kind == own,
                sender: Some(m.sender.clone()),
                content: m.content.clone(),
                attachments: m.attachments.clone(),
                parent_id: m.parent_id.clone(),
                created_at: Some(m.created_at.clone()),
                delivery: sent_here.map(|o| o.delivery.clone()),
            }
        });
        let unstored = outbox.unstored().map(|o| Entry {
            key: o.client_id.clone(),
            id: None,
            sender: None,
            mine: true,
            content: o.content.clone(),
            attachments: o.attachments.clone(),
            parent_id: o.parent_id.clone(),
            created_at: None,
            delivery: Some(o.delivery.clone()),
        });
        stored.chain(unstored).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locale::content_for;
    use crate::outbox::tests::message;
    use SenderType::{Ai, Customer, Workspace};
    use connect360_api::Locale;

    fn page(items: Vec<Message>, next: Option<&str>) -> Page<Message> {
        Page { items, next_cursor: next.map(str::to_owned) }
    }

    fn ids(t: &Timeline) -> Vec<&str> {
        t.messages().iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn polls_merge_by_id_in_order() {
        let mut t = Timeline::default();
        let added = t.apply_latest(page(
            vec![message("m2", "02", Customer, "a"), message("m3", "03", Workspace, "b")],
            Some("m2"),
        ));
        assert_eq!(added.len(), 2);
        assert_eq!(t.history(), &History::More("m2".into()));
        let added = t.apply_latest(page(
            vec![
                message("m3", "03", Workspace, "b"),
                message("m4", "04", Ai, "c"),
                message("m5", "04", Customer, "same time, later id"),
            ],
            Some("m3"),
        ));
        assert_eq!(added.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["m4", "m5"]);
        assert_eq!(ids(&t), ["m2", "m3", "m4", "m5"]);
        assert_eq!(t.older_cursor(), Some("m2"), "a poll keeps the history cursor");
    }

    #[test]
    fn a_first_page_without_cursor_is_the_whole_history() {
        let mut t = Timeline::default();
        t.apply_latest(page(vec![message("m1", "01", Customer, "a")], None));
        assert_eq!(t.history(), &History::Complete);
        assert_eq!(t.older_cursor(), None);
    }

    #[test]
    fn older_pages_are_prepended_until_the_oldest() {
        let mut t = Timeline::default();
        t.apply_latest(page(vec![message("m5", "05", Customer, "e")], Some("m5")));
        let n = t.apply_older(
            "m5",
            page(vec![message("m3", "03", Customer, "c"), message("m4", "04", Ai, "d")], Some("m3")),
        );
        assert_eq!(n, 2);
        assert_eq!(t.older_cursor(), Some("m3"));
        t.apply_older("m3", page(vec![message("m1", "01", Workspace, "a")], None));
        assert_eq!(ids(&t), ["m1", "m3", "m4", "m5"]);
        assert_eq!(t.history(), &History::Complete);
        assert_eq!(t.apply_older("m3", page(vec![message("m0", "00", Ai, "z")], None)), 0);
        assert_eq!(ids(&t), ["m1", "m3", "m4", "m5"], "a stale page is dropped");
    }

    #[test]
    fn a_poll_past_a_gap_replaces_the_loaded_messages() {
        let mut t = Timeline::default();
        t.apply_latest(page(vec![message("m1", "01", Customer, "a")], None));
        t.apply_latest(page(vec![message("m90", "90", Ai, "y"), message("m91", "91", Ai, "z")], Some("m90")));
        assert_eq!(ids(&t), ["m90", "m91"]);
        assert_eq!(t.older_cursor(), Some("m90"));
    }

    #[test]
    fn entries_reconcile_sent_messages_with_their_stored_copies() {
        let mut t = Timeline::default();
        t.apply_latest(page(vec![message("m1", "01", Workspace, "Hello")], None));
        let mut ob = Outbox::default();
        ob.push("k1".into(), content_for(Locale::En, "hi"), vec![], Some("m1".into()));
        ob.push("k2".into(), content_for(Locale::En, "there"), vec![], None);
        for k in ["k1", "k2"] {
            ob.attempt(k, t.anchor().unwrap());
        }

        let e = t.entries(&ob);
        assert_eq!(e.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["m1", "k1", "k2"]);
        assert!(!e[0].mine && e[1].mine && e[2].mine);
        assert_eq!(e[1].delivery, Some(Delivery::Sending));
        assert_eq!(e[1].id, None);
        assert_eq!(e[1].parent_id.as_deref(), Some("m1"));

        // The poll brings k1's stored copy before its answer does.
        let mut stored = message("m2", "02", Customer, "hi");
        stored.parent_id = Some("m1".into());
        t.apply_latest(page(vec![stored.clone()], None));
        ob.reconcile(t.messages());
        ob.sent("k1", "m2"); // the answer, later: nothing changes
        ob.failed("k2", "offline");

        let e = t.entries(&ob);
        assert_eq!(e.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["m1", "k1", "k2"]);
        assert_eq!(e[1].id.as_deref(), Some("m2"));
        assert_eq!(e[1].delivery, Some(Delivery::Sent));
        assert_eq!(e[2].delivery, Some(Delivery::Failed("offline".into())));
        assert_eq!(t.messages().len(), 2, "no duplicate of k1");
    }

    #[test]
    fn a_message_written_before_the_first_page_claims_its_pushed_copy() {
        let mut t = Timeline::default();
        let mut ob = Outbox::default();
        ob.push("k1".into(), content_for(Locale::En, "hi"), vec![], None);
        assert!(t.anchor().is_none(), "no page yet: k1 waits");
        // History has an older "hi"; k1 is sent once it is in, and the
        // stream pushes its stored copy before the send's answer.
        t.apply_latest(page(vec![message("m1", "01", Customer, "hi")], None));
        ob.attempt("k1", t.anchor().unwrap());
        t.insert(message("m2", "02", Customer, "hi"));
        ob.reconcile(t.messages());
        assert_eq!(ob.get("k1").unwrap().stored_id.as_deref(), Some("m2"));
        assert_eq!(t.entries(&ob).len(), 2, "k1 shows once");
    }

    #[test]
    fn the_anchor_knows_whether_a_page_was_loaded() {
        let mut t = Timeline::default();
        assert_eq!(t.anchor(), None);
        t.apply_latest(page(vec![], None));
        assert_eq!(t.anchor(), Some(Anchor::Start));
        t.insert(message("m1", "01", Customer, "a"));
        assert_eq!(t.anchor(), Some(Anchor::After("2026-11-24T10:00:01.000Z".into(), "m1".into())));
    }

    #[test]
    fn the_inbox_sees_its_own_side_as_mine() {
        let mut t = Timeline::default();
        t.apply_latest(page(vec![message("m1", "01", Customer, "hi"), message("m2", "02", Workspace, "hello")], None));
        let e = t.entries_as(&Outbox::default(), Workspace);
        assert!(!e[0].mine && e[1].mine);
    }

    #[test]
    fn insert_replaces_a_known_id() {
        let mut t = Timeline::default();
        assert!(t.insert(message("m1", "01", Customer, "a")));
        assert!(!t.insert(message("m1", "01", Customer, "edited")));
        assert_eq!(t.messages().len(), 1);
        assert_eq!(t.messages()[0].content, content_for(Locale::En, "edited"));
    }
}
