//! Server-sent events as they arrive in chunks of bytes: the frames of
//! `GET /api/v1/connect/events` (`connect360_api::events`). `EventSource`
//! can't send a token, so the widget reads the stream of a `fetch` itself.

use connect360_api::AiStreamEvent;

use super::json::decode;

/// One event: its `event:` name (`message` when absent, as the standard has
/// it), its `data:` lines joined with newlines, and the stream's last event
/// id when it came (an `id:` holds for the events after it, as the standard
/// has it: what a reconnect sends as `Last-Event-ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub event: String,
    pub data: String,
    pub id: String,
}

/// Collects bytes until a blank line ends a frame. A frame is decoded only
/// whole, so a UTF-8 character split between chunks arrives intact.
#[derive(Debug, Default)]
pub struct Parser {
    pending: Vec<u8>,
    last_id: String,
    /// Past the start of the stream (where a byte order mark is dropped).
    started: bool,
}

impl Parser {
    /// The frames that `chunk` completes; comments and frames without data
    /// (keep-alives) are skipped.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Frame> {
        self.pending.extend_from_slice(chunk);
        if !self.started {
            const BOM: &[u8] = "\u{feff}".as_bytes();
            if self.pending.len() < BOM.len() && BOM.starts_with(&self.pending) {
                return Vec::new();
            }
            self.started = true;
            if self.pending.starts_with(BOM) {
                self.pending.drain(..BOM.len());
            }
        }
        let mut frames = Vec::new();
        while let Some((end, next)) = frame_end(&self.pending) {
            let raw = String::from_utf8_lossy(&self.pending[..end]).into_owned();
            self.pending.drain(..next);
            frames.extend(parse(&raw, &mut self.last_id));
        }
        frames
    }
}

/// Where the first frame ends and the next begins: at a blank line, with
/// lines ended by `\n`, `\r\n` or `\r`.
fn frame_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut line_start = 0;
    while i < bytes.len() {
        let eol = match bytes[i] {
            b'\n' => 1,
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => 2,
            // A lone `\r` at the end of the chunk may be half of `\r\n`.
            b'\r' if i + 1 == bytes.len() => return None,
            b'\r' => 1,
            _ => {
                i += 1;
                continue;
            }
        };
        if i == line_start {
            return Some((line_start, i + eol));
        }
        i += eol;
        line_start = i;
    }
    None
}

/// The frame of the lines `raw`; an `id:` sets `last_id`, even in a frame
/// without data (one with a NUL is ignored, as the standard has it).
fn parse(raw: &str, last_id: &mut String) -> Option<Frame> {
    let mut event = String::from("message");
    let mut data: Option<String> = None;
    for line in raw.split(['\n', '\r']).filter(|l| !l.is_empty()) {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = value.to_owned(),
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            "id" if !value.contains('\0') => value.clone_into(last_id),
            // Comments (empty field) and fields we don't use (retry).
            _ => {}
        }
    }
    data.map(|data| Frame { event, data, id: last_id.clone() })
}

/// The event a frame carries (`AiStreamEvent::name` and `data`); `None`
/// for an event name this widget does not know (a newer server may send
/// one, and a client skips it).
pub fn event_of(frame: &Frame) -> Option<Result<AiStreamEvent, String>> {
    let data = frame.data.as_str();
    Some(match frame.event.as_str() {
        "start" => decode(data).map(AiStreamEvent::Start),
        "delta" => decode(data).map(AiStreamEvent::Delta),
        "message" => decode(data).map(|m| AiStreamEvent::Message(Box::new(m))),
        "idle" => decode(data).map(AiStreamEvent::Idle),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(event: &str, data: &str) -> Frame {
        Frame { event: event.into(), data: data.into(), id: String::new() }
    }

    /// The events as the server frames them (the api crate's `name` and `data`).
    #[test]
    fn ai_stream_events_read_as_the_server_writes_them() {
        use connect360_api::{AiDelta, AiIdle, AiStart, Message};
        let message: Message = serde_json::from_value(serde_json::json!({
            "id": "m1", "conversationId": "c1",
            "content": {"ar": "مرحبا", "en": "Hi \"there\"\n", "tr": {"nested": [1, 2.5, null]}},
            "attachments": [{"id": "f1", "name": "a.png", "type": "image/png", "size": 68,
                "url": "/api/v1/connect/assets/w/f1/a.png"}],
            "sender": {"type": "ai", "id": "ai1", "name": "Bot", "image": null},
            "parentId": "m0", "flags": ["x"], "templateId": null,
            "channel": {"id": "ch1", "type": "website", "identifier": "shop.example.com"},
            "createdAt": "2026-11-24T10:00:00.000Z",
            "unknownField": {"ignored": true}
        }))
        .unwrap();
        let events = [
            AiStreamEvent::Start(AiStart { sender: message.sender.clone() }),
            AiStreamEvent::Delta(AiDelta { text: "line one\nline two".into() }),
            AiStreamEvent::Message(Box::new(message)),
            AiStreamEvent::Idle(AiIdle {}),
        ];
        for event in events {
            let frame = frame(event.name(), &event.data());
            assert_eq!(event_of(&frame).unwrap().unwrap(), event);
        }
        assert!(event_of(&frame("typing", "{}")).is_none(), "an unknown event is skipped");
        assert!(event_of(&frame("delta", "{}")).unwrap().is_err(), "a delta without text is an error");
    }

    #[test]
    fn frames_split_anywhere_arrive_whole() {
        let stream = "event: delta\ndata: {\"text\":\"Kargo 2 gün içinde çıkar\"}\n\n: keep-alive\n\nevent: message\ndata: {}\n\n";
        let expected = vec![frame("delta", r#"{"text":"Kargo 2 gün içinde çıkar"}"#), frame("message", "{}")];
        for size in 1..stream.len() {
            let mut parser = Parser::default();
            let frames: Vec<Frame> = stream.as_bytes().chunks(size).flat_map(|c| parser.push(c)).collect();
            assert_eq!(frames, expected, "chunks of {size} bytes");
        }
    }

    #[test]
    fn crlf_multi_line_data_and_defaults() {
        let mut parser = Parser::default();
        assert_eq!(
            parser.push(b"data: one\r\ndata:two\r\n\r\nevent: idle\rdata: {}\r\r"),
            vec![frame("message", "one\ntwo")],
            "a last \\r may be half of \\r\\n"
        );
        assert_eq!(parser.push(b"\n"), vec![frame("idle", "{}")]);
        assert_eq!(parser.push(b"event: delta\ndata: {\"text\":\"a\"}\n"), vec![], "not ended yet");
        assert_eq!(parser.push(b"\n"), vec![frame("delta", r#"{"text":"a"}"#)]);
        assert_eq!(parser.push(b"event: nothing\n\n"), vec![], "no data, no event");
    }
}

#[cfg(test)]
mod event_stream_tests {
    use super::*;

    fn frame(id: &str, event: &str, data: &str) -> Frame {
        Frame { event: event.into(), data: data.into(), id: id.into() }
    }

    /// The events stream as the contract has it: a comment at once, events
    /// with ids, keep-alives, split anywhere and with every line ending.
    #[test]
    fn ids_hold_until_the_next_and_every_line_ending_reads_alike() {
        let lf = ": connected\n\nid: m1\nevent: message\ndata: {\"a\":1}\n\n: keep-alive\n\nevent: start\ndata: {}\n\nid: m2\nevent: delta\ndata: line one\ndata: line two\n\n: keep-alive\n\n";
        // (A last lone `\r` may be half of `\r\n`: the keep-alive after it ends the frame.)
        let expected = vec![
            frame("m1", "message", r#"{"a":1}"#),
            frame("m1", "start", "{}"),
            frame("m2", "delta", "line one\nline two"),
        ];
        for ending in ["\n", "\r\n", "\r"] {
            let stream = format!("\u{feff}{}", lf.replace('\n', ending));
            for size in 1..stream.len() {
                let mut parser = Parser::default();
                let frames: Vec<Frame> = stream.as_bytes().chunks(size).flat_map(|c| parser.push(c)).collect();
                assert_eq!(frames, expected, "{ending:?} in chunks of {size} bytes");
            }
        }
    }

    #[test]
    fn an_id_alone_counts_and_an_id_with_nul_does_not() {
        let mut parser = Parser::default();
        assert_eq!(parser.push(b"id: m7\n\n"), vec![], "no data, no event");
        assert_eq!(parser.push(b"data: x\n\n"), vec![frame("m7", "message", "x")]);
        assert_eq!(parser.push(b"id: bad\0id\ndata: y\n\n"), vec![frame("m7", "message", "y")]);
        assert_eq!(parser.push(b"id\ndata: z\n\n"), vec![frame("", "message", "z")], "an empty id resets it");
        assert_eq!(parser.push(b"data:  two spaces\n\n"), vec![frame("", "message", " two spaces")], "one space goes");
    }

    #[test]
    fn undecodable_data_is_an_error_naming_why() {
        let error = event_of(&frame("m1", "message", "{\"id\":")).unwrap().unwrap_err();
        assert!(!error.is_empty());
    }
}
