// The `device-sim` executable: simulated Milesight sensors behind a UG65 gateway, and paired
// panels asking the controller for decisions. See DeviceSimCommand for the subcommands.
DeviceSimCommand.main()
