//! The panel's elements, made by hand and kept current by Leptos's reactive
//! system: signals and memos say what changed, a render effect per changing
//! attribute, class, text or part writes it, and owners clean up what a
//! redrawn part leaves behind (its effects and event listeners).
//!
//! Why not `view!`: Leptos's renderer (tachys) instantiates its building,
//! mounting and state code for every view type. For this panel that was a
//! third of the wasm, about 140 KB raw, against the bundle's budget of
//! 120 KB brotli (issue 6). Here every element goes through the same few
//! functions, none generic over the view.

use leptos::prelude::*;
use rustc_hash::FxHashMap;
use send_wrapper::SendWrapper;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, UnwrapThrowExt};
use web_sys::{Element, Event, Node};

const SVG: &str = "http://www.w3.org/2000/svg";

/// Runs `draw` as the root of a widget that lives as long as the page:
/// its owner is never cleaned up.
pub fn root(draw: impl FnOnce()) {
    // The effects' updates run as wasm-bindgen futures. An error means
    // that the executor was set already.
    _ = any_spawner::Executor::init_wasm_bindgen();
    let owner = Owner::new();
    owner.with(draw);
    std::mem::forget(owner);
}

/// An element being drawn.
pub struct El(pub Element);

/// `<tag class="class">`.
pub fn el(tag: &str, class: &str) -> El {
    let el = document().create_element(tag).unwrap_throw();
    if !class.is_empty() {
        el.set_class_name(class);
    }
    El(el)
}

/// A decorative 24 by 24 icon of one path.
pub fn icon(class: &str, d: &str) -> El {
    let doc = document();
    let svg = doc.create_element_ns(Some(SVG), "svg").unwrap_throw();
    let path = doc.create_element_ns(Some(SVG), "path").unwrap_throw();
    _ = svg.set_attribute("class", class);
    _ = svg.set_attribute("viewBox", "0 0 24 24");
    _ = svg.set_attribute("aria-hidden", "true");
    _ = path.set_attribute("d", d);
    _ = svg.append_child(&path);
    El(svg)
}

/// Runs `f` now, and again whenever a signal it read has changed, until the
/// current owner is cleaned up. A rerun first cleans up what the last run
/// made (its effects, listeners and owners).
pub fn effect(f: impl FnMut() + 'static) {
    effect_boxed(Box::new(f));
}

fn effect_boxed(mut f: Box<dyn FnMut()>) {
    let effect = SendWrapper::new(RenderEffect::new(move |_| f()));
    on_cleanup(move || drop(effect));
}

/// Calls `f` on `event` at `target` until the current owner is cleaned up.
fn listen(target: &web_sys::EventTarget, event: &str, f: Box<dyn FnMut(Event)>) {
    let closure = Closure::wrap(f);
    _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    // Whoever cleans up the owner removes the element too.
    let closure = SendWrapper::new(closure);
    on_cleanup(move || drop(closure));
}

/// An empty text node: where a part that comes and goes is put.
fn marker(parent: &Element) -> Node {
    let marker: Node = document().create_text_node("").into();
    _ = parent.append_child(&marker);
    marker
}

impl El {
    pub fn attr(self, name: &str, value: &str) -> El {
        _ = self.0.set_attribute(name, value);
        self
    }

    pub fn text(self, text: &str) -> El {
        _ = self.0.append_with_str_1(text);
        self
    }

    pub fn child(self, child: El) -> El {
        _ = self.0.append_child(&child.0);
        self
    }

    /// `child`, when there is one.
    pub fn maybe(self, child: Option<El>) -> El {
        match child {
            Some(child) => self.child(child),
            None => self,
        }
    }

    pub fn on(self, event: &str, f: impl FnMut(Event) + 'static) -> El {
        listen(&self.0, event, Box::new(f));
        self
    }

    /// The attribute `name` as `value()` says: absent for `None`.
    pub fn dyn_attr(self, name: &'static str, value: impl Fn() -> Option<String> + 'static) -> El {
        self.dyn_attr_boxed(name, Box::new(value))
    }

    fn dyn_attr_boxed(self, name: &'static str, value: Box<dyn Fn() -> Option<String>>) -> El {
        let el = self.0.clone();
        effect(move || match value() {
            Some(v) => _ = el.set_attribute(name, &v),
            None => _ = el.remove_attribute(name),
        });
        self
    }

    /// A boolean attribute (`hidden`, `disabled`): there while `on()`.
    pub fn flag(self, name: &'static str, on: impl Fn() -> bool + 'static) -> El {
        self.dyn_attr(name, move || on().then(String::new))
    }

    /// The class `class` while `on()`.
    pub fn dyn_class(self, class: &'static str, on: impl Fn() -> bool + 'static) -> El {
        self.dyn_class_boxed(class, Box::new(on))
    }

    fn dyn_class_boxed(self, class: &'static str, on: Box<dyn Fn() -> bool>) -> El {
        let list = self.0.class_list();
        effect(move || _ = list.toggle_with_force(class, on()));
        self
    }

    /// A text that follows `text()`.
    pub fn dyn_text(self, text: impl Fn() -> String + 'static) -> El {
        self.dyn_text_boxed(Box::new(text))
    }

    fn dyn_text_boxed(self, text: Box<dyn Fn() -> String>) -> El {
        let node = document().create_text_node("");
        _ = self.0.append_child(&node);
        effect(move || node.set_data(&text()));
        self
    }

    /// A part drawn by `draw`, drawn again (in place of the last one)
    /// whenever a signal it read has changed. What it draws reads its own
    /// signals in its own effects; `draw` itself should read only what
    /// decides the part.
    pub fn part(self, draw: impl FnMut() -> Option<El> + 'static) -> El {
        self.part_boxed(Box::new(draw))
    }

    fn part_boxed(self, mut draw: Box<dyn FnMut() -> Option<El>>) -> El {
        let parent = self.0.clone();
        let marker = marker(&parent);
        let mut shown: Option<Element> = None;
        effect(move || {
            if let Some(old) = shown.take() {
                old.remove();
            }
            shown = draw().map(|El(el)| {
                _ = parent.insert_before(&el, Some(&marker));
                el
            });
        });
        self
    }

    /// One element per item of `items()`, kept by `key`: an item whose key
    /// stays keeps its element (and the focus or selection in it); only
    /// new keys are drawn, by `draw`, and gone keys removed.
    pub fn keyed<T: 'static>(
        self,
        items: impl Fn() -> Vec<T> + 'static,
        key: fn(&T) -> String,
        draw: impl Fn(T) -> El + 'static,
    ) -> El {
        let mut rows = Keyed::new(&self.0);
        effect(move || {
            let mut items: Vec<Option<T>> = items().into_iter().map(Some).collect();
            let keys = items.iter().flatten().map(key).collect();
            // Each item is drawn at most once: `Keyed` asks for new keys only.
            rows.update(keys, &mut |i| items[i].take().map(&draw));
        });
        self
    }
}

/// The elements of `El::keyed`, by key (not generic over the items, so
/// one copy of this code serves every list).
struct Keyed {
    parent: Element,
    end: Node,
    /// The rows' owners are children of this one, not of the effect's,
    /// which is cleaned up on every run.
    owner: Owner,
    drawn: FxHashMap<String, (Element, Owner)>,
}

impl Keyed {
    fn new(parent: &Element) -> Keyed {
        Keyed {
            parent: parent.clone(),
            end: marker(parent),
            owner: Owner::current().unwrap_or_default(),
            drawn: FxHashMap::default(),
        }
    }

    /// Shows one element per key, in order; `draw(i)` makes the element of
    /// the `i`th key when it has none yet.
    fn update(&mut self, keys: Vec<String>, draw: &mut dyn FnMut(usize) -> Option<El>) {
        let mut next = Vec::with_capacity(keys.len());
        for (i, k) in keys.into_iter().enumerate() {
            let row = match self.drawn.remove(&k) {
                Some(row) => row,
                None => {
                    let child = self.owner.child();
                    let Some(El(el)) = child.with(|| untrack(|| draw(i))) else { continue };
                    (el, child)
                }
            };
            next.push((k, row));
        }
        for (el, child) in self.drawn.drain().map(|(_, row)| row) {
            child.cleanup();
            el.remove();
        }
        // From the end: elements already in order are not touched, so a page
        // of history added on top moves nothing below it.
        let mut anchor = self.end.clone();
        for (_, (el, _)) in next.iter().rev() {
            if el.next_sibling().as_ref() != Some(&anchor) {
                _ = self.parent.insert_before(el, Some(&anchor));
            }
            anchor = el.clone().into();
        }
        for (k, row) in next {
            // A key twice: the later item is kept.
            if let Some((el, child)) = self.drawn.insert(k, row) {
                child.cleanup();
                el.remove();
            }
        }
    }
}

/// `draw`, shown while `cond()` holds; drawn again only when it changes.
pub fn when(
    cond: impl Fn() -> bool + Send + Sync + 'static,
    draw: impl Fn() -> El + 'static,
) -> impl FnMut() -> Option<El> + 'static {
    let shown = Memo::new(move |_| cond());
    move || shown.get().then(|| untrack(&draw))
}
