/** What the Node-side globalSetup provides to the tests inside workerd (URLs of local servers). */
export {};

declare module 'vitest' {
  interface ProvidedContext {
    fakeCogUrl: string;
    receiverUrl: string;
    /** The labelled fake of Replicate's HTTP API (edge-replicate project). */
    fakeReplicateUrl: string;
    /** The end-to-end stack of the edge-e2e project (all on loopback). */
    e2e: {
      edgeUrl: string;
      edgeReplicateUrl: string;
      receiverUrl: string;
      controlUrl: string;
      adminToken: string;
    };
    /** The local radosgw of the edge-s3 project. */
    s3: {
      endpoint: string;
      region: string;
      bucket: string;
      accessKeyId: string;
      secretAccessKey: string;
    };
  }
}
