export declare const TEMPORAL_CLI_VERSION: string;
export declare const TEMPORAL_TEST_SERVER_VERSION: string;
export declare function ensureTool(name: 'cli' | 'testServer', opts?: { quiet?: boolean }): string;
