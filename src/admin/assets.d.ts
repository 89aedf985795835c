// The admin page's files are imported as text (`with { type: "text" }`, see files.ts) so that
// `bun build --compile` embeds them in the binary; this tells tsc what such an import is.
// public/ is browser code, checked on its own (tsconfig.public.json), not part of this program.
declare module "../../public/*" {
  const text: string;
  export default text;
}
