//! "(n) " before the page's title while replies wait unread.

/// What the widget did to `document.title`, to undo exactly that.
#[derive(Debug, Default)]
pub struct TitleBadge {
    /// The page's own title, while ours is shown.
    original: Option<String>,
    /// The title we set last.
    shown: Option<String>,
}

impl TitleBadge {
    /// The title to set now that `unread` replies wait, the page's title
    /// being `current`; `None`: leave it as it is. A title the page set
    /// meanwhile is its own: it gets the count, and stays once read.
    pub fn update(&mut self, current: &str, unread: u32) -> Option<String> {
        if self.shown.as_deref().is_some_and(|shown| shown != current) {
            self.shown = None;
            self.original = None;
        }
        if unread == 0 {
            self.shown = None;
            return self.original.take();
        }
        let original = self.original.get_or_insert_with(|| current.to_owned());
        let title = format!("({unread}) {original}");
        self.shown = Some(title.clone());
        (title != current).then_some(title)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays the page's title through `updates`, returning the titles seen.
    fn run(start: &str, steps: &[Result<u32, &str>]) -> Vec<String> {
        let mut badge = TitleBadge::default();
        let mut title = start.to_owned();
        let mut seen = Vec::new();
        for step in steps {
            match step {
                Ok(n) => {
                    if let Some(t) = badge.update(&title, *n) {
                        title = t;
                    }
                }
                Err(page_sets) => title = (*page_sets).to_owned(),
            }
            seen.push(title.clone());
        }
        seen
    }

    #[test]
    fn counts_then_restores_the_title_exactly() {
        assert_eq!(run("Shop", &[Ok(0), Ok(1), Ok(2), Ok(0), Ok(0)]), ["Shop", "(1) Shop", "(2) Shop", "Shop", "Shop"]);
        assert_eq!(run(" (1) odd  title ", &[Ok(1), Ok(0)]), ["(1)  (1) odd  title ", " (1) odd  title "]);
        assert_eq!(run("", &[Ok(3), Ok(0)]), ["(3) ", ""]);
    }

    #[test]
    fn a_title_the_page_sets_meanwhile_is_kept() {
        assert_eq!(
            run("Shop", &[Ok(1), Err("Cart (SPA)"), Ok(2), Ok(0)]),
            ["(1) Shop", "Cart (SPA)", "(2) Cart (SPA)", "Cart (SPA)"]
        );
        // Changed while ours was shown, then read: the page's new title stays.
        assert_eq!(run("Shop", &[Ok(1), Err("Checkout"), Ok(0)]), ["(1) Shop", "Checkout", "Checkout"]);
    }

    #[test]
    fn nothing_is_touched_without_unread_replies() {
        let mut badge = TitleBadge::default();
        assert_eq!(badge.update("Shop", 0), None);
        assert_eq!(badge.update("Other", 0), None);
    }
}
