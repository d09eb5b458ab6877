/** The Worker: the Hono app, and the Durable Object class that holds each edit. */
import { app } from './app.ts';

export { EditObject } from './edits/edit-object.ts';
export default app;
