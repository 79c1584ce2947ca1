//! The composer's files: checked against the limits, uploaded one request
//! per file (each with its progress and cancel), until sent.

use std::rc::Rc;

use leptos::prelude::*;
use web_sys::{File, FileList, XmlHttpRequest};

use crate::attachments::{Uploads, check_limits, parse_upload};
use crate::i18n::Strings;
use crate::transport::Client;

#[derive(Clone, Copy)]
pub struct Attachments {
    /// The composer's files, uploading or uploaded, until sent.
    pub items: RwSignal<Uploads>,
    /// Why picked files were not uploaded.
    pub error: RwSignal<Option<String>>,
    requests: StoredValue<Requests, LocalStorage>,
}

/// What the uploads hold besides their state (one stored value: each type
/// stored costs the bundle its own copy of the storage's code).
#[derive(Default)]
struct Requests {
    /// The uploads on their way, to cancel.
    sending: Vec<(u32, XmlHttpRequest)>,
    /// Files refused for their token, uploaded once more when the session
    /// is renewed.
    refused: Vec<(u32, File)>,
    /// Renews the session (the widget's; the inbox's member signs in again
    /// instead, so a refusal fails the file there).
    renew: Option<Rc<dyn Fn()>>,
}

impl Default for Attachments {
    fn default() -> Self {
        Attachments {
            items: RwSignal::new(Uploads::default()),
            error: RwSignal::new(None),
            requests: StoredValue::new_local(Requests::default()),
        }
    }
}

/// The files of a file input, a drop or a paste.
pub fn files_of(list: Option<FileList>) -> Vec<File> {
    let Some(list) = list else { return vec![] };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

impl Attachments {
    /// Uploads `files` with `client`, or none of them when they break a
    /// limit (then says why).
    pub fn attach(self, client: Option<Client>, files: Vec<File>, s: &'static Strings) {
        if files.is_empty() {
            return;
        }
        let picked: Vec<(String, u64)> = files.iter().map(|f| (f.name(), f.size() as u64)).collect();
        let held = self.items.with_untracked(|u| u.held());
        if let Err(e) = check_limits(held, &picked) {
            self.error.set(Some(e.message(s)));
            return;
        }
        self.error.set(None);
        for (file, (name, size)) in files.into_iter().zip(picked) {
            let mut key = 0;
            self.items.update(|u| key = u.add(name, size));
            self.upload(client.as_ref(), key, file, s, false);
        }
    }

    /// An upload refused for its token renews the session with `renew`
    /// and goes once more (see [`Attachments::resume`]).
    pub fn renew_with(self, renew: Rc<dyn Fn()>) {
        self.requests.update_value(|r| r.renew = Some(renew));
    }

    /// The session was renewed with `client` (`None`: it could not be):
    /// the files refused meanwhile are uploaded once more, or fail.
    pub fn resume(self, client: Option<&Client>, s: &'static Strings) {
        let refused = self.requests.try_update_value(|r| std::mem::take(&mut r.refused));
        for (key, file) in refused.unwrap_or_default() {
            // Cancelled, or cleared for another conversation, meanwhile.
            if self.on_its_way(key) {
                self.upload(client, key, file, s, true);
            }
        }
    }

    /// Uploads file `key` with `client` (`renewed`: once more, with the
    /// session renewed after a refusal), or fails it.
    fn upload(self, client: Option<&Client>, key: u32, file: File, s: &'static Strings, renewed: bool) {
        let why = match client.map(|c| self.start(c, key, file, s.upload_failed, renewed)) {
            Some(Ok(())) => return,
            Some(Err(e)) => e.as_string().unwrap_or_else(|| s.upload_failed.to_owned()),
            None => s.cannot_connect.to_owned(),
        };
        self.items.update(|u| u.finished(key, Err(why)));
    }

    fn start(
        self,
        client: &Client,
        key: u32,
        file: File,
        failed: &'static str,
        renewed: bool,
    ) -> Result<(), wasm_bindgen::JsValue> {
        let xhr = client.upload(
            &file.clone(),
            move |sent, total| self.items.update(|u| u.progress(key, sent, total)),
            move |status, body| {
                let parked = self.requests.try_update_value(|r| {
                    r.sending.retain(|(k, _)| *k != key);
                    // Refused for its token, it waits for a new session (one
                    // renewal for the files refused meanwhile); twice, it fails.
                    let renew = r.renew.clone().filter(|_| status == 401 && !renewed)?;
                    r.refused.push((key, file.clone()));
                    Some((r.refused.len() == 1).then_some(renew))
                });
                match parked.flatten() {
                    Some(Some(renew)) => renew(),
                    Some(None) => {}
                    None => {
                        let result =
                            if status == 0 { Err(failed.to_owned()) } else { parse_upload(status, &body, failed) };
                        self.items.update(|u| u.finished(key, result));
                    }
                }
            },
        )?;
        self.requests.update_value(|r| r.sending.push((key, xhr)));
        Ok(())
    }

    /// Another conversation began: the files picked for the last one are not
    /// sent into it, and their uploads stop.
    pub fn clear(self) {
        let keys: Vec<u32> = self.items.with_untracked(|u| u.items().iter().map(|u| u.key).collect());
        for key in keys {
            self.cancel_or_remove(key);
        }
        self.error.set(None);
    }

    /// Whether file `key` is still on its way (one copy of the read for
    /// the callers).
    fn on_its_way(self, key: u32) -> bool {
        self.items.with_untracked(|u| u.on_its_way(key))
    }

    /// Stops a file's upload and drops it from the composer.
    pub fn cancel(self, key: u32) {
        let mut was_active = false;
        self.items.update(|u| was_active = u.cancel(key));
        if was_active {
            let xhr = self.requests.try_update_value(|r| {
                let i = r.sending.iter().position(|(k, _)| *k == key)?;
                Some(r.sending.remove(i).1)
            });
            if let Some(xhr) = xhr.flatten() {
                _ = xhr.abort();
            }
        }
    }

    pub fn remove(self, key: u32) {
        self.items.update(|u| u.remove(key));
    }

    /// Cancels the file's upload while it is on its way, else removes it.
    pub fn cancel_or_remove(self, key: u32) {
        if self.on_its_way(key) { self.cancel(key) } else { self.remove(key) }
    }

    /// Whether no file is still on its way, and whether any is uploaded.
    pub fn ready(self) -> (bool, bool) {
        self.items.with(|u| (!u.busy(), !u.done().is_empty()))
    }

    /// Takes the uploaded files out for sending.
    pub fn take_done(self) -> Vec<connect360_api::Attachment> {
        let mut files = Vec::new();
        self.items.update(|u| files = u.take_done());
        self.error.set(None);
        files
    }
}
