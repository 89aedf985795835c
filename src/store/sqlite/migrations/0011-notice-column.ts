// Mail the MTA generates about another message (bounce, delay and success notices) is stored
// like any other; the batcher's first pass decides membership from columns alone, so the
// notice kind sits in its own column for `filter: {notices: false}` and the provider formats,
// which leave notices out. NULL for everything else (and for every event stored before: hookd
// dropped notices then). Adding a nullable column rewrites nothing.
export const sql = /* sql */ `
ALTER TABLE events ADD COLUMN notice TEXT;
`;
