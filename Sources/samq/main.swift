print("samq")
