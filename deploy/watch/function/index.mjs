// The function's module (handler "index.watchHandler"). Install the package beside it first:
// docs/watch-deploy.md, "Package the function".
export { watchHandler } from 'validate-logs/aws-lambda';
