/**
 * Serve a folder of static files on 127.0.0.1.
 * @param dir - the folder
 * @param port - the port (0: any free one)
 * @returns the address, and how to stop
 */
export function serveStatic(dir: string, port?: number): Promise<{ url: string; close: () => Promise<void> }>;
