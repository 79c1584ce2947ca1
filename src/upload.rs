//! Uploading the composer's files: one XMLHttpRequest per file (fetch has no
//! upload progress), so that each file has its own progress and cancel.

use leptos::prelude::*;
use web_sys::{File, FileList};

use crate::attachments::{check_limits, parse_upload};
use crate::chat::Chat;
use crate::i18n::strings;

/// The files of a file input, a drop or a paste.
pub fn files_of(list: Option<FileList>) -> Vec<File> {
    let Some(list) = list else { return vec![] };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Uploads `files`, or none of them when they break a limit (then says why).
pub fn attach(chat: Chat, files: Vec<File>) {
    if files.is_empty() {
        return;
    }
    let picked: Vec<(String, u64)> = files.iter().map(|f| (f.name(), f.size() as u64)).collect();
    let held = chat.uploads.with_untracked(|u| u.held());
    if let Err(e) = check_limits(held, &picked) {
        chat.upload_error.set(Some(e.message(strings(chat.locale.get_untracked()))));
        return;
    }
    chat.upload_error.set(None);
    for (file, (name, size)) in files.into_iter().zip(picked) {
        let mut key = 0;
        chat.uploads.update(|u| key = u.add(name, size));
        if let Err(e) = start(chat, key, &file) {
            let why = e.as_string().unwrap_or_else(|| strings(chat.locale.get_untracked()).upload_failed.to_owned());
            chat.uploads.update(|u| u.finished(key, Err(why)));
        }
    }
}

fn start(chat: Chat, key: u32, file: &File) -> Result<(), wasm_bindgen::JsValue> {
    let failed = strings(chat.locale.get_untracked()).upload_failed;
    let Some(client) = chat.session.with_untracked(|s| s.as_ref().map(|s| s.client.clone())) else {
        chat.uploads.update(|u| u.finished(key, Err(strings(chat.locale.get_untracked()).cannot_connect.to_owned())));
        return Ok(());
    };
    let xhr = client.upload(
        file,
        move |sent, total| chat.uploads.update(|u| u.progress(key, sent, total)),
        move |status, body| {
            chat.xhrs.update_value(|x| x.retain(|(k, _)| *k != key));
            let result = if status == 0 { Err(failed.to_owned()) } else { parse_upload(status, &body, failed) };
            chat.uploads.update(|u| u.finished(key, result));
        },
    )?;
    chat.xhrs.update_value(|x| x.push((key, xhr)));
    Ok(())
}

/// Stops a file's upload and drops it from the composer.
pub fn cancel(chat: Chat, key: u32) {
    let mut was_active = false;
    chat.uploads.update(|u| was_active = u.cancel(key));
    if was_active {
        let xhr = chat.xhrs.try_update_value(|x| {
            let i = x.iter().position(|(k, _)| *k == key)?;
            Some(x.remove(i).1)
        });
        if let Some(xhr) = xhr.flatten() {
            _ = xhr.abort();
        }
    }
}
