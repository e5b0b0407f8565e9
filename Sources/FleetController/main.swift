print("fleet-controller")
