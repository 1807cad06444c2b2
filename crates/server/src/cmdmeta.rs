//! TEMPORARY stand-in for the command metadata (being replaced).
use spinel_resp::ReplyBuf;
pub struct CommandMeta {
    pub name: String,
    pub arity: i64,
    pub flags: Vec<String>,
    pub first_key: i64,
    pub last_key: i64,
    pub step: i64,
    pub acl_categories: Vec<String>,
    pub subcommands: Vec<CommandMeta>,
}
#[derive(Debug)]
pub struct KeysError;
impl CommandMeta {
    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }
}
pub fn lookup(_name: &str) -> Option<&'static CommandMeta> {
    None
}
pub fn lookup_sub(_p: &str, _s: &str) -> Option<&'static CommandMeta> {
    None
}
pub fn key_positions(_m: &CommandMeta, _argv: &[&[u8]]) -> Result<Vec<usize>, KeysError> {
    Ok(vec![])
}
pub fn command_command(out: &mut ReplyBuf, _argv: &[&[u8]], _implemented: &dyn Fn(&str) -> bool) {
    out.array(0)
}
