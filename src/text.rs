//! Text made safe for messages.

/// `text` with control characters (from file names or input values) escaped, so that a
/// message can neither redraw the terminal nor forge lines; line breaks between the lines of a
/// list of errors are kept.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
