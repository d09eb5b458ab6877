/** What the Node-side globalSetup provides to the tests inside workerd (URLs of local servers). */
export {};

declare module 'vitest' {
  interface ProvidedContext {
    fakeCogUrl: string;
    receiverUrl: string;
  }
}
