// The admin page's assets are imported as text (`with { type: "text" }`) so that
// `bun build --compile` embeds them in the binary; these tell tsc what such an import is.
declare module "*.css" {
  const text: string;
  export default text;
}
// public/admin.js is browser code, not part of the TypeScript program; only its text is used.
declare module "*/public/admin.js" {
  const text: string;
  export default text;
}
