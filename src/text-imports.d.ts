// Files Bun imports `with { type: "text" }` (embedded in the compiled binary).
declare module "*/socket.io.min.js" {
  const text: string;
  export default text;
}
declare module "*/socket.io.js" {
  const text: string;
  export default text;
}
declare module "*/client/dist/client.js" {
  const text: string;
  export default text;
}
declare module "*/client/dist/client.min.js" {
  const text: string;
  export default text;
}
declare module "*.md" {
  const text: string;
  export default text;
}
