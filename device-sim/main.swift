print("device-sim")
