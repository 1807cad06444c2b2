pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let _ = (pattern, string, nocase);
    false
}
