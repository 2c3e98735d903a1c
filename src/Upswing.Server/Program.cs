using Upswing.Server.Cli;

return await UpswingCli.RunAsync(args);
